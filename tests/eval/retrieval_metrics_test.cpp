#include "tessera/eval/retrieval_metrics.h"

#include <gtest/gtest.h>

namespace tessera::eval {
namespace {

TEST(RetrievalMetricsTest, PerfectClustersScoreOne) {
  const torch::Tensor x =
      torch::tensor({0.0, 0.1, 0.2, 10.0, 10.1, 10.2, 20.0, 20.1}, torch::kFloat32).reshape({8, 1});
  const std::vector<int> y = {0, 0, 0, 1, 1, 1, 2, 2};
  const RetrievalMetrics m = retrieval_metrics(x, y);
  EXPECT_DOUBLE_EQ(m.precision_at_1, 1.0);
  EXPECT_DOUBLE_EQ(m.r_precision, 1.0);
  EXPECT_DOUBLE_EQ(m.map_at_r, 1.0);
  EXPECT_NEAR(clustering_nmi(x, y, 1), 1.0, 1e-12);
}

// By hand (1-D): A = {0, 1.1, 5}, B = {2, 3, 10}, R = 2 for every query.
// Top-2 relevance per query: 0:[A,B] 1.1:[B,A] 5:[B,B] 2:[A,B] 3:[B,A] 10:[A,B].
// P@1 = 2/6; R-precision = (5 * 1/2) / 6; MAP@R = (.5 + .25 + 0 + .25 + .5 + .25) / 6.
TEST(RetrievalMetricsTest, MatchesHandComputedExample) {
  const torch::Tensor x =
      torch::tensor({0.0, 1.1, 5.0, 2.0, 3.0, 10.0}, torch::kFloat32).reshape({6, 1});
  const RetrievalMetrics m = retrieval_metrics(x, {0, 0, 0, 1, 1, 1});
  EXPECT_NEAR(m.precision_at_1, 2.0 / 6, 1e-12);
  EXPECT_NEAR(m.r_precision, 2.5 / 6, 1e-12);
  EXPECT_NEAR(m.map_at_r, 1.75 / 6, 1e-12);
}

// By hand (1-D), recordings r0 = {0, 0.1} and r1 = {5} labelled A,
// r2 = {1, 1.1} and r3 = {6} labelled B. Leaving out the query's recording:
// R = 1, 1, 2, 1, 1, 2; the nearest other-recording sample of 0, 0.1, 1, 1.1
// and 5 has the other label, and 6's top two are [5: A, 1.1: B].
// P@1 = 0; R-precision = (1/2) / 6; MAP@R = (1/2 * 1/2) / 6. Without groups
// 0, 0.1, 1 and 1.1 find their own recording's other tile: P@1 = 4/6.
TEST(RetrievalMetricsTest, SameRecordingTilesAreLeftOut) {
  const torch::Tensor x =
      torch::tensor({0.0, 0.1, 5.0, 1.0, 1.1, 6.0}, torch::kFloat32).reshape({6, 1});
  const std::vector<int> labels = {0, 0, 0, 1, 1, 1}, recordings = {0, 0, 1, 2, 2, 3};
  const RetrievalMetrics m = retrieval_metrics(x, labels, recordings);
  EXPECT_NEAR(m.precision_at_1, 0.0, 1e-12);
  EXPECT_NEAR(m.r_precision, 0.5 / 6, 1e-12);
  EXPECT_NEAR(m.map_at_r, 0.25 / 6, 1e-12);
  EXPECT_NEAR(retrieval_metrics(x, labels).precision_at_1, 4.0 / 6, 1e-12);
  EXPECT_THROW(retrieval_metrics(x, labels, {0, 1}), std::invalid_argument);
}

// One recording per label: leaving out each query's own recording leaves
// nothing relevant anywhere, so no query is scored and the metrics are
// undefined (NaN), not 0. The same tiles without groups are scored.
TEST(RetrievalMetricsTest, NothingToFindIsUndefinedNotZero) {
  const torch::Tensor x = torch::tensor({0.0, 0.1, 5.0, 5.1}, torch::kFloat32).reshape({4, 1});
  const std::vector<int> labels = {0, 0, 1, 1}, recordings = {0, 0, 1, 1};
  const RetrievalMetrics m = retrieval_metrics(x, labels, recordings);
  EXPECT_EQ(m.queries, 0);
  EXPECT_TRUE(std::isnan(m.precision_at_1));
  EXPECT_TRUE(std::isnan(m.r_precision));
  EXPECT_TRUE(std::isnan(m.map_at_r));
  const RetrievalMetrics ungrouped = retrieval_metrics(x, labels);
  EXPECT_EQ(ungrouped.queries, 4);
  EXPECT_DOUBLE_EQ(ungrouped.map_at_r, 1.0);
  // One label: no clustering to compare with.
  EXPECT_TRUE(std::isnan(clustering_nmi(x, {0, 0, 0, 0}, 1)));
}

TEST(RetrievalMetricsTest, NmiOfIndependentPartitionsIsZero) {
  EXPECT_NEAR(normalized_mutual_info({0, 0, 1, 1}, {0, 1, 0, 1}), 0.0, 1e-12);
  EXPECT_NEAR(normalized_mutual_info({0, 0, 1, 1}, {5, 5, 7, 7}), 1.0, 1e-12);
}

}  // namespace
}  // namespace tessera::eval
