// The SIMD level the dispatchers use, and the guard on forcing one.
#include "tessera/common/simd_dispatch.h"

#include <gtest/gtest.h>

namespace tessera::common {
namespace {

TEST(SimdDispatchTest, ForcingALevelIsUndoneByReset) {
  const SimdLevel best = cpu_simd_level();
  EXPECT_EQ(simd_level(), best);
  force_simd_level(SimdLevel::kBaseline);
  EXPECT_EQ(simd_level(), SimdLevel::kBaseline);
  reset_simd_level();
  EXPECT_EQ(simd_level(), best);
}

// Every level up to the CPU's can be forced; one the CPU (or the build)
// lacks is refused, as it would run instructions the CPU does not have.
TEST(SimdDispatchTest, OnlyLevelsTheCpuRunsCanBeForced) {
  for (SimdLevel level : {SimdLevel::kBaseline, SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    if (static_cast<int>(level) <= static_cast<int>(cpu_simd_level())) {
      force_simd_level(level);
      EXPECT_EQ(simd_level(), level);
    } else {
      EXPECT_THROW(force_simd_level(level), std::invalid_argument) << simd_level_name(level);
    }
  }
  reset_simd_level();
}

TEST(SimdDispatchTest, LevelsHaveNames) {
  EXPECT_STREQ(simd_level_name(SimdLevel::kBaseline), "baseline");
  EXPECT_STREQ(simd_level_name(SimdLevel::kAvx2), "avx2");
  EXPECT_STREQ(simd_level_name(SimdLevel::kAvx512), "avx512");
}

}  // namespace
}  // namespace tessera::common
