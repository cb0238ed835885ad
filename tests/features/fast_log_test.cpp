#include "tessera/features/fast_log.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace tessera::features {
namespace {

// Against the double-precision log: within 3 float ulp of the result, or
// 2e-7 absolute where the result is near 0 (x near 1).
TEST(FastLogTest, MatchesLibmOverTheLogMelRange) {
  std::vector<float> x;
  for (double v = 1e-6; v < 1e5; v *= 1.0007) x.push_back(static_cast<float>(v));
  while (x.size() % 8) x.push_back(1.0f);
  std::vector<float> y = x;
  log_inplace_x8(y.data(), static_cast<int>(y.size()));
  double worst_ulps = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double ref = std::log(double(x[i]));
    const double ulp = std::nextafter(float(std::fabs(ref)), INFINITY) - float(std::fabs(ref));
    const double err = std::fabs(y[i] - ref);
    if (std::fabs(ref) > 1e-3) worst_ulps = std::max(worst_ulps, err / ulp);
    ASSERT_TRUE(err <= 3 * ulp || err <= 2e-7)
        << "x=" << x[i] << " got " << y[i] << " want " << ref;
  }
  RecordProperty("worst_ulps", std::to_string(worst_ulps));
}

TEST(FastLogTest, ExactPowersOfTwo) {
  std::vector<float> x = {1.0f, 2.0f, 0.5f, 1024.0f, 1.0f / 1024, 4.0f, 8.0f, 0.25f};
  log_inplace_x8(x.data(), 8);
  EXPECT_EQ(x[0], 0.0f);
  EXPECT_NEAR(x[1], std::log(2.0), 1e-7);
  EXPECT_NEAR(x[3], 10 * std::log(2.0), 1e-6);
  EXPECT_NEAR(x[4], -10 * std::log(2.0), 1e-6);
}

}  // namespace
}  // namespace tessera::features
