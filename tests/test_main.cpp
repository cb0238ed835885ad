// The main() of every test binary: gtest's, after the OpenBLAS core fix the
// tessera binary applies too (common/blas_core.h), so in-process training
// runs the same kernels as the command line.
#include <gtest/gtest.h>

#include "tessera/common/blas_core.h"

int main(int argc, char** argv) {
  tessera::common::reexec_with_matching_blas_core(argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
