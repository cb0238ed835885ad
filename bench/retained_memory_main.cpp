// main() of the benchmarks of LibTorch operators. As `tessera` runs, freed
// memory stays in the process (common/allocator.h); else every iteration
// would also time the page faults on a kernel's fresh output or temporaries.
#include <benchmark/benchmark.h>

#include "tessera/common/allocator.h"

int main(int argc, char** argv) {
  tessera::common::retain_freed_memory();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
