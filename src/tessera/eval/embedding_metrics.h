// Metrics of an embedding space against labels (used only to evaluate):
// the silhouette score, the label-centroid distance matrix and the spread
// of its off-diagonal entries. Pure functions on [N, E] float tensors.
#pragma once

#include <vector>

#include <torch/torch.h>

namespace tessera::eval {

// Mean silhouette with Euclidean distance (Rousseeuw 1987); a point alone in
// its label scores 0, as scikit-learn does. NaN (undefined) with fewer than
// 2 labels present.
double silhouette_score(const torch::Tensor& embeddings, const std::vector<int>& labels);

// [K, K] Euclidean distances between the mean embedding of each label;
// rows and columns of labels without samples are NaN.
torch::Tensor centroid_distances(const torch::Tensor& embeddings, const std::vector<int>& labels,
                                 int n_labels);

// Coefficient of variation (population std / mean) of the finite
// off-diagonal entries i < j: 0 when all centroids are equally far apart.
// NaN (undefined) with fewer than two such distances (fewer than three
// labels) or when every centroid coincides: a 0 there would read as the
// most even spread of all.
double centroid_cv(const torch::Tensor& distances);
// Their mean; NaN with none.
double mean_centroid_distance(const torch::Tensor& distances);

// Every `stride`-th row so that at most `max_points` remain (deterministic).
std::vector<std::int64_t> even_subsample(std::int64_t n, std::int64_t max_points);

}  // namespace tessera::eval
