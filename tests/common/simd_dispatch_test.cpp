// The SIMD levels a caller may name (common/simd_dispatch.h): every level up
// to the CPU's runs; one above it is refused before any of its instructions
// could fault.
#include "tessera/common/simd_dispatch.h"

#include <gtest/gtest.h>

namespace tessera::common {
namespace {

TEST(SimdDispatchTest, OnlyLevelsTheCpuRunsPassTheCheck) {
  const std::vector<SimdLevel> runnable = runnable_simd_levels();
  ASSERT_FALSE(runnable.empty());
  EXPECT_EQ(runnable.front(), SimdLevel::kBaseline);
  EXPECT_EQ(runnable.back(), cpu_simd_level());
  for (SimdLevel level : {SimdLevel::kBaseline, SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    if (static_cast<int>(level) <= static_cast<int>(cpu_simd_level())) {
      EXPECT_NO_THROW(check_simd_level(level)) << simd_level_name(level);
    } else {
      EXPECT_THROW(check_simd_level(level), std::invalid_argument) << simd_level_name(level);
    }
  }
}

TEST(SimdDispatchTest, LevelsHaveNames) {
  EXPECT_STREQ(simd_level_name(SimdLevel::kBaseline), "baseline");
  EXPECT_STREQ(simd_level_name(SimdLevel::kAvx2), "avx2");
  EXPECT_STREQ(simd_level_name(SimdLevel::kAvx512), "avx512");
}

}  // namespace
}  // namespace tessera::common
