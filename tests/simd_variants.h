// For the tests that run every SIMD variant of a kernel and compare them
// (common/simd_dispatch.h). A build without target clones (clang, TSan) or a
// CPU without AVX2 runs the baseline alone: such a test then has nothing to
// compare, and says so as a skip instead of passing. Its ctest label ends in
// -simd (tests/CMakeLists.txt), which scripts/test_skips.py accepts.
#pragma once

#include <gtest/gtest.h>

#include "tessera/common/simd_dispatch.h"

#define TESSERA_SKIP_WITHOUT_SIMD_VARIANTS()                                                 \
  if (::tessera::common::runnable_simd_levels().size() < 2)                                  \
  GTEST_SKIP() << "only the baseline SIMD level runs in this build on this CPU ("            \
               << (TESSERA_SIMD_VARIANTS ? "the CPU has no AVX2" : "no target clones built") \
               << "): no variant to compare"
