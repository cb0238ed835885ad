#include "tessera/eval/embedding_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tessera::eval {
namespace {

// By hand from Rousseeuw's definition: 1-D points A = {0, 1}, B = {4, 5}.
// s(0) = (4.5 - 1) / 4.5, s(1) = (3.5 - 1) / 3.5, symmetric for B;
// the mean is (7/9 + 5/7) / 2 = 0.746031746.
TEST(EmbeddingMetricsTest, SilhouetteMatchesHandComputation) {
  const torch::Tensor x = torch::tensor({0.0, 1.0, 4.0, 5.0}).reshape({4, 1});
  EXPECT_NEAR(silhouette_score(x, {0, 0, 1, 1}), (7.0 / 9 + 5.0 / 7) / 2, 1e-9);
}

TEST(EmbeddingMetricsTest, SingletonScoresZeroAndOneLabelIsUndefined) {
  // A = {0, 1}, B = {10} alone: s(10) = 0; s(0) = (10 - 1)/10, s(1) = (9 - 1)/9.
  const torch::Tensor x = torch::tensor({0.0, 1.0, 10.0}).reshape({3, 1});
  EXPECT_NEAR(silhouette_score(x, {0, 0, 1}), (0.9 + 8.0 / 9) / 3, 1e-9);
  EXPECT_TRUE(std::isnan(silhouette_score(x, {0, 0, 0})));
}

TEST(EmbeddingMetricsTest, CentroidMatrixIsSymmetricWithZeroDiagonal) {
  torch::manual_seed(0);
  const torch::Tensor x = torch::randn({30, 5});
  std::vector<int> labels;
  for (int i = 0; i < 30; ++i) labels.push_back(i % 3);
  const torch::Tensor d = centroid_distances(x, labels, 3);
  EXPECT_TRUE(torch::allclose(d, d.t()));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(d[i][i].item<double>(), 0.0);
  // Against the centroids computed directly.
  const torch::Tensor c0 = x.index_select(0, torch::arange(0, 30, 3)).mean(0);
  const torch::Tensor c1 = x.index_select(0, torch::arange(1, 30, 3)).mean(0);
  EXPECT_NEAR(d[0][1].item<double>(), (c0 - c1).norm().item<double>(), 1e-5);
}

// The corners of an equilateral triangle: all centroid distances equal.
TEST(EmbeddingMetricsTest, EquidistantCentroidsHaveZeroCv) {
  const torch::Tensor x =
      torch::tensor({0.0, 0.0, 1.0, 0.0, 0.5, std::sqrt(3.0) / 2}, torch::kFloat64).reshape({3, 2});
  const torch::Tensor d = centroid_distances(x, {0, 1, 2}, 3);
  EXPECT_NEAR(centroid_cv(d), 0.0, 1e-9);
  EXPECT_NEAR(mean_centroid_distance(d), 1.0, 1e-9);
  // Distances 1, 1, 2 (points 0, 1, 2 on a line): mean 4/3, std sqrt(2)/3.
  const torch::Tensor line = torch::tensor({0.0, 1.0, 2.0}, torch::kFloat64).reshape({3, 1});
  EXPECT_NEAR(centroid_cv(centroid_distances(line, {0, 1, 2}, 3)), (std::sqrt(2.0) / 3) / (4.0 / 3),
              1e-9);
}

// Two labels give one distance, so no spread; coinciding centroids give a
// mean of 0. Both are undefined (NaN): a 0 would win the margin verdict.
TEST(EmbeddingMetricsTest, SpreadOfFewerThanTwoDistancesIsUndefined) {
  const torch::Tensor two = torch::tensor({0.0, 1.0}, torch::kFloat64).reshape({2, 1});
  EXPECT_TRUE(std::isnan(centroid_cv(centroid_distances(two, {0, 1}, 2))));
  const torch::Tensor same = torch::zeros({3, 1}, torch::kFloat64);
  EXPECT_TRUE(std::isnan(centroid_cv(centroid_distances(same, {0, 1, 2}, 3))));
  EXPECT_TRUE(std::isnan(mean_centroid_distance(centroid_distances(two, {0, 0}, 2))));
}

TEST(EmbeddingMetricsTest, MissingLabelIsNaNAndIgnored) {
  const torch::Tensor x = torch::tensor({0.0, 1.0}).reshape({2, 1});
  const torch::Tensor d = centroid_distances(x, {0, 2}, 3);
  EXPECT_TRUE(std::isnan(d[1][0].item<double>()));
  EXPECT_NEAR(mean_centroid_distance(d), 1.0, 1e-9);
}

}  // namespace
}  // namespace tessera::eval
