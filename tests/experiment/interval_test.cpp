// The seed interval: Student-t quantiles against printed tables, and a mean
// interval worked by hand.
#include "tessera/experiment/interval.h"

#include <gtest/gtest.h>

namespace tessera::experiment {
namespace {

// Two-sided 95% critical values t_{0.975, dof}, as printed in the usual
// tables (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2), to 3 decimals.
TEST(StudentTQuantileTest, MatchesPrintedTables) {
  const std::pair<double, double> table[] = {{1, 12.706}, {2, 4.303},  {3, 3.182},  {4, 2.776},
                                             {9, 2.262},  {30, 2.042}, {100, 1.984}};
  for (const auto& [dof, t] : table) EXPECT_NEAR(student_t_quantile(0.975, dof), t, 5e-4) << dof;
  // One-sided 0.95 with 5 dof, and the lower tail by symmetry.
  EXPECT_NEAR(student_t_quantile(0.95, 5), 2.015, 5e-4);
  EXPECT_NEAR(student_t_quantile(0.025, 4), -2.776, 5e-4);
  // One degree of freedom is the Cauchy distribution: tan(pi (p - 1/2)).
  EXPECT_NEAR(student_t_quantile(0.9, 1), std::tan(M_PI * 0.4), 1e-9);
  // Many degrees of freedom approach the normal's 1.959964.
  EXPECT_NEAR(student_t_quantile(0.975, 1e6), 1.959964, 1e-5);
}

TEST(StudentTQuantileTest, RejectsImpossibleArguments) {
  EXPECT_THROW(student_t_quantile(1.0, 3), std::invalid_argument);
  EXPECT_THROW(student_t_quantile(0.5, 0), std::invalid_argument);
}

// Values 0.30, 0.34, 0.38: mean 0.34; deviations -0.04, 0, 0.04, so the
// sample variance is 0.0032 / 2 = 0.0016 and std 0.04; the half-width is
// t_{0.975,2} * 0.04 / sqrt(3) = 4.302653 * 0.0230940 = 0.0993655.
TEST(MeanIntervalTest, ThreeSeedsByHand) {
  const Interval i = mean_interval({0.30, 0.34, 0.38});
  EXPECT_EQ(i.n, 3);
  EXPECT_NEAR(i.mean, 0.34, 1e-12);
  EXPECT_NEAR(i.std, 0.04, 1e-12);
  EXPECT_NEAR(i.lo, 0.34 - 0.0993655, 1e-6);
  EXPECT_NEAR(i.hi, 0.34 + 0.0993655, 1e-6);
  EXPECT_NEAR(i.half_width(), 0.0993655, 1e-6);
  EXPECT_TRUE(i.measured());
}

// An undefined metric of one seed (NaN) is left out, not counted as 0.
TEST(MeanIntervalTest, UndefinedValuesAreLeftOut) {
  const Interval i = mean_interval({1.0, NAN, 3.0});
  EXPECT_EQ(i.n, 2);
  EXPECT_DOUBLE_EQ(i.mean, 2.0);
  EXPECT_NEAR(i.std, std::sqrt(2.0), 1e-12);
  // t_{0.975,1} * sqrt(2) / sqrt(2) = 12.7062.
  EXPECT_NEAR(i.half_width(), 12.7062, 1e-3);
}

TEST(MeanIntervalTest, OneSeedMeasuresNoUncertainty) {
  const Interval one = mean_interval({0.5});
  EXPECT_EQ(one.n, 1);
  EXPECT_DOUBLE_EQ(one.mean, 0.5);
  EXPECT_FALSE(one.measured());
  EXPECT_TRUE(std::isnan(one.std));
  EXPECT_TRUE(std::isnan(one.half_width()));
  const Interval none = mean_interval({NAN});
  EXPECT_EQ(none.n, 0);
  EXPECT_TRUE(std::isnan(none.mean));
  EXPECT_FALSE(one.overlaps(one)) << "no interval, no overlap";
}

TEST(MeanIntervalTest, OverlapIsSymmetricAndIncludesTouching) {
  Interval a, b;
  a.n = b.n = 3;
  a.lo = 0.1, a.hi = 0.3, b.lo = 0.3, b.hi = 0.5;
  EXPECT_TRUE(a.overlaps(b));
  EXPECT_TRUE(b.overlaps(a));
  b.lo = 0.31;
  EXPECT_FALSE(a.overlaps(b));
  EXPECT_FALSE(b.overlaps(a));
}

}  // namespace
}  // namespace tessera::experiment
