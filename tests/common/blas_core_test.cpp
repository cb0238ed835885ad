// The OpenBLAS core correction (common/blas_core.h).
#include "tessera/common/blas_core.h"

#include <gtest/gtest.h>

namespace tessera::common {
namespace {

CpuFeatures avx512() {
  CpuFeatures f;
  f.avx = f.avx2 = f.fma = true;
  f.avx512f = f.avx512bw = f.avx512dq = f.avx512vl = f.avx512cd = true;
  return f;
}

CpuFeatures avx2() {
  CpuFeatures f;
  f.avx = f.avx2 = f.fma = true;
  return f;
}

// What Debian 12's OpenBLAS 0.3.21 reported on this project's Emerald Rapids
// development machine (OPENBLAS_VERBOSE=2: "Core: Prescott").
TEST(BlasCoreTest, SseFallbackOnAvx512CpuGetsSkylakeX) {
  EXPECT_EQ(openblas_core_override("Prescott", avx512()), "SkylakeX");
  EXPECT_EQ(openblas_core_override("Nehalem", avx512()), "SkylakeX");
  EXPECT_EQ(openblas_core_override("Sandybridge", avx512()), "SkylakeX");
}

TEST(BlasCoreTest, SseFallbackOnAvx2CpuGetsHaswell) {
  EXPECT_EQ(openblas_core_override("Prescott", avx2()), "Haswell");
  EXPECT_EQ(openblas_core_override("core2", avx2()), "Haswell");  // names compare without case
}

TEST(BlasCoreTest, ModernChoicesAreKept) {
  for (const char* core : {"SkylakeX", "Cooperlake", "SapphireRapids", "Haswell", "Zen"})
    EXPECT_EQ(openblas_core_override(core, avx512()), "") << core;
}

TEST(BlasCoreTest, NothingBetterToOfferKeepsTheCore) {
  EXPECT_EQ(openblas_core_override("Prescott", CpuFeatures{}), "");
  CpuFeatures avx_only;
  avx_only.avx = true;
  EXPECT_EQ(openblas_core_override("Sandybridge", avx_only), "");
  EXPECT_EQ(openblas_core_override("Prescott", avx_only), "Sandybridge");
}

TEST(BlasCoreTest, UnknownCoreNamesAreKept) {
  EXPECT_EQ(openblas_core_override("", avx512()), "");
  EXPECT_EQ(openblas_core_override("NeoverseN1", avx512()), "");
}

// AVX-512 without BW/DQ/VL (Knights Landing) cannot run the SkylakeX kernels.
TEST(BlasCoreTest, PartialAvx512FallsBackToHaswell) {
  CpuFeatures knl = avx2();
  knl.avx512f = knl.avx512cd = true;
  EXPECT_EQ(openblas_core_override("Prescott", knl), "Haswell");
}

}  // namespace
}  // namespace tessera::common
