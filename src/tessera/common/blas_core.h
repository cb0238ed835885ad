// Makes sure OpenBLAS runs the kernels this CPU can run.
//
// OpenBLAS picks its kernels from the CPU model when the library loads.
// Debian 12's 0.3.21 predates some CPUs and falls back to its Prescott (SSE3)
// kernels on them: on an Emerald Rapids Xeon (family 6, model 207) it reports
// "Prescott", and a 2048^2 fp32 matmul runs at 12-27 GFLOP/s instead of
// 85-117 with the SkylakeX (AVX-512) kernels (docs/performance.md). The
// choice is made before main() and only the OPENBLAS_CORETYPE environment
// variable changes it, so the fix is to set it and re-execute the program.
//
//   int main(int argc, char** argv) {
//     tessera::common::reexec_with_matching_blas_core(argv);  // returns if nothing to do
//     ...
#pragma once

#include <string>

namespace tessera::common {

// What the CPU can run, from CPUID.
struct CpuFeatures {
  bool avx = false, avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false, avx512cd = false;
  static CpuFeatures detect();
};

// The OpenBLAS core to force, or "" to keep the detected one. Only a
// fallback is overridden: an SSE- or AVX-era core (Prescott, Nehalem,
// Sandybridge, ...) on a CPU that runs better ones gets SkylakeX (AVX-512
// F/CD/BW/DQ/VL), Haswell (AVX2 with FMA) or Sandybridge (AVX). AVX2-era and
// newer choices, and names this table does not know, are kept.
std::string openblas_core_override(const std::string& detected_core, const CpuFeatures& cpu);

// The core the loaded OpenBLAS runs, or "" when the BLAS is not OpenBLAS.
std::string loaded_openblas_core();

// When OPENBLAS_CORETYPE is unset and the loaded OpenBLAS runs an older core
// than the CPU supports, sets OPENBLAS_CORETYPE and re-executes
// /proc/self/exe with the same arguments; otherwise (or if exec fails) it
// returns. Call first thing in main(), before any thread starts.
// TESSERA_BLAS_CORE=keep turns it off.
void reexec_with_matching_blas_core(char** argv);

}  // namespace tessera::common
