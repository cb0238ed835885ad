// Retrieval and clustering quality of an embedding space against labels,
// computed exactly (k-NN by matrix products, in query chunks):
// - precision@1, R-precision and MAP@R as defined in Musgrave, Belongie and
//   Lim, "A Metric Learning Reality Check" (ECCV 2020): for a query of label
//   y, R is the number of *other* samples labelled y. With `groups` (say,
//   the recording of each tile), samples of the query's own group are left
//   out of both the ranking and R, so that tiles of one recording do not
//   count as finding each other;
// - NMI between k-means clusters (k = number of labels present) and the
//   labels, normalised by the arithmetic mean of the entropies (as
//   scikit-learn's default).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace tessera::eval {

// A query with nothing relevant to find (no sample of its label outside its
// own group) is not scored. With no scored query at all, for example when
// every label has a single recording, the metrics are undefined: NaN, never
// a 0 that would read as "found nothing".
struct RetrievalMetrics {
  double precision_at_1 = NAN, r_precision = NAN, map_at_r = NAN;
  std::int64_t queries = 0;  // the queries scored
};

// `groups` empty: every sample is its own group (only the query is left out).
RetrievalMetrics retrieval_metrics(const torch::Tensor& embeddings, const std::vector<int>& labels,
                                   const std::vector<int>& groups = {});

// Lloyd's k-means with k-means++ seeding; the best of `restarts` by inertia.
std::vector<int> kmeans(const torch::Tensor& x, int k, std::uint64_t seed, int restarts = 4,
                        int iterations = 100);

double normalized_mutual_info(const std::vector<int>& a, const std::vector<int>& b);

// NMI of kmeans(k = distinct labels) against the labels; NaN (undefined)
// with fewer than two labels or fewer samples than labels.
double clustering_nmi(const torch::Tensor& embeddings, const std::vector<int>& labels,
                      std::uint64_t seed);

}  // namespace tessera::eval
