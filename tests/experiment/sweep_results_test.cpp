#include "tessera/experiment/sweep_results.h"

#include <gtest/gtest.h>

namespace tessera::experiment {
namespace {

MarginRun run(double margin, double active, double cv, double silhouette) {
  MarginRun r;
  r.margin = margin;
  r.active_fraction = active;
  r.centroid_cv = cv;
  r.silhouette = silhouette;
  return r;
}

TEST(RecommendationTest, ExcludesUnsatisfiableAndCollapsedMargins) {
  // 0.3 has the lowest cv but learned nothing; 10 can never be satisfied.
  const std::vector<MarginRun> runs = {run(0.3, 0.001, 0.05, 0.5), run(0.5, 0.2, 0.30, 0.5),
                                       run(1.0, 0.3, 0.12, 0.4), run(2.0, 0.6, 0.20, 0.6),
                                       run(10.0, 1.0, 0.01, 0.9)};
  const Recommendation rec = recommend(runs, RecommendationRule{});
  ASSERT_TRUE(rec.found);
  EXPECT_EQ(rec.margin, 1.0);
  ASSERT_EQ(rec.excluded.size(), 2u);
  EXPECT_NE(rec.excluded[0].find("margin 0.3: active fraction"), std::string::npos)
      << rec.excluded[0];
  EXPECT_NE(rec.excluded[1].find("margin 10: cannot be satisfied"), std::string::npos)
      << rec.excluded[1];
  EXPECT_NE(rec.reason.find("margin 1 spreads"), std::string::npos) << rec.reason;
}

TEST(RecommendationTest, SilhouetteBreaksCvTies) {
  const std::vector<MarginRun> runs = {run(0.5, 0.2, 0.200, 0.40), run(0.7, 0.3, 0.205, 0.55),
                                       run(1.0, 0.3, 0.30, 0.9)};
  EXPECT_EQ(recommend(runs, RecommendationRule{}).margin, 0.7);
  RecommendationRule strict;
  strict.cv_tie_tolerance = 0.0;
  EXPECT_EQ(recommend(runs, strict).margin, 0.5);
}

TEST(RecommendationTest, ThresholdsAreConfigurable) {
  const std::vector<MarginRun> runs = {run(0.3, 0.01, 0.1, 0.5), run(5.0, 0.9, 0.05, 0.5)};
  RecommendationRule rule;
  rule.min_active_fraction = 0.005;
  rule.max_satisfiable_margin = 6;
  EXPECT_EQ(recommend(runs, rule).margin, 5.0);
}

TEST(RecommendationTest, NothingLeftIsSaidPlainly) {
  const Recommendation rec = recommend({run(10, 1, 0.1, 0.1)}, RecommendationRule{});
  EXPECT_FALSE(rec.found);
  EXPECT_NE(rec.reason.find("every margin was excluded"), std::string::npos);
}

TEST(RecommendationTest, MarginDirectoryNames) {
  EXPECT_EQ(margin_dir_name(0.3), "margin_0.3");
  EXPECT_EQ(margin_dir_name(1.0), "margin_1");
  EXPECT_EQ(margin_dir_name(10), "margin_10");
}

}  // namespace
}  // namespace tessera::experiment
