#include "tessera/eval/embedding_metrics.h"

#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

namespace tessera::eval {

double silhouette_score(const torch::Tensor& x_in, const std::vector<int>& labels) {
  const torch::Tensor x = x_in.to(torch::kCPU, torch::kFloat64);
  const std::int64_t n = x.size(0);
  if (n != std::int64_t(labels.size()))
    throw std::invalid_argument("silhouette: one label per row needed");
  std::set<int> present(labels.begin(), labels.end());
  if (present.size() < 2) return NAN;
  const int k = *present.rbegin() + 1;
  // Pairwise Euclidean distances, then per-label sums by a matrix product.
  const torch::Tensor sq = x.pow(2).sum(1, true);
  const torch::Tensor d = (sq + sq.t() - 2 * x.matmul(x.t())).clamp_min(0).sqrt();
  torch::Tensor onehot = torch::zeros({n, k}, torch::kFloat64);
  std::vector<double> count(k, 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    onehot[i][labels[i]] = 1.0;
    count[labels[i]] += 1;
  }
  const torch::Tensor sums = d.matmul(onehot);  // [n, k]
  const auto s = sums.accessor<double, 2>();
  double total = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const int own = labels[i];
    if (count[own] <= 1) continue;  // s(i) = 0
    const double a = s[i][own] / (count[own] - 1);
    double b = std::numeric_limits<double>::infinity();
    for (int l = 0; l < k; ++l) {
      if (l != own && count[l] > 0) b = std::min(b, s[i][l] / count[l]);
    }
    const double m = std::max(a, b);
    total += m > 0 ? (b - a) / m : 0.0;
  }
  return total / n;
}

torch::Tensor centroid_distances(const torch::Tensor& x_in, const std::vector<int>& labels,
                                 int n_labels) {
  const torch::Tensor x = x_in.to(torch::kCPU, torch::kFloat64);
  torch::Tensor centroids = torch::zeros({n_labels, x.size(1)}, torch::kFloat64);
  std::vector<double> count(n_labels, 0.0);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= n_labels) continue;
    centroids[labels[i]] += x[std::int64_t(i)];
    count[labels[i]] += 1;
  }
  for (int l = 0; l < n_labels; ++l) {
    if (count[l] > 0) centroids[l] /= count[l];
  }
  torch::Tensor d = torch::zeros({n_labels, n_labels}, torch::kFloat64);
  for (int i = 0; i < n_labels; ++i) {
    for (int j = 0; j < n_labels; ++j) {
      if (count[i] == 0 || count[j] == 0) {
        d[i][j] = std::numeric_limits<double>::quiet_NaN();
      } else if (i != j) {
        d[i][j] = (centroids[i] - centroids[j]).pow(2).sum().sqrt();
      }
    }
  }
  return d;
}

namespace {
std::vector<double> off_diagonal(const torch::Tensor& d) {
  std::vector<double> v;
  const torch::Tensor dd = d.to(torch::kFloat64);
  const auto a = dd.accessor<double, 2>();
  for (std::int64_t i = 0; i < d.size(0); ++i) {
    for (std::int64_t j = i + 1; j < d.size(1); ++j) {
      if (std::isfinite(a[i][j])) v.push_back(a[i][j]);
    }
  }
  return v;
}
}  // namespace

double mean_centroid_distance(const torch::Tensor& d) {
  const auto v = off_diagonal(d);
  if (v.empty()) return NAN;
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}

double centroid_cv(const torch::Tensor& d) {
  const auto v = off_diagonal(d);
  if (v.size() < 2) return NAN;
  const double mean = mean_centroid_distance(d);
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean);
  var /= v.size();
  return mean > 0 ? std::sqrt(var) / mean : NAN;
}

std::vector<std::int64_t> even_subsample(std::int64_t n, std::int64_t max_points) {
  std::vector<std::int64_t> idx;
  if (max_points <= 0 || n <= max_points) {
    for (std::int64_t i = 0; i < n; ++i) idx.push_back(i);
    return idx;
  }
  for (std::int64_t k = 0; k < max_points; ++k) idx.push_back(k * n / max_points);
  return idx;
}

}  // namespace tessera::eval
