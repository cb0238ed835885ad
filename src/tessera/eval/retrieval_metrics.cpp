#include "tessera/eval/retrieval_metrics.h"

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

namespace tessera::eval {

RetrievalMetrics retrieval_metrics(const torch::Tensor& x_in, const std::vector<int>& labels,
                                   const std::vector<int>& groups_in) {
  RetrievalMetrics m;
  const torch::Tensor x = x_in.to(torch::kCPU, torch::kFloat32).contiguous();
  const std::int64_t n = x.size(0);
  if (n < 2 || std::int64_t(labels.size()) != n) return m;
  std::vector<int> groups = groups_in;
  if (groups.empty()) {
    groups.resize(n);
    for (std::int64_t i = 0; i < n; ++i) groups[i] = int(i);
  } else if (std::int64_t(groups.size()) != n) {
    throw std::invalid_argument("retrieval_metrics: groups and embeddings differ in length");
  }
  // R of a query: samples of its label outside its own group.
  std::map<int, std::int64_t> per_label;
  std::map<std::pair<int, int>, std::int64_t> per_label_group;
  for (std::int64_t i = 0; i < n; ++i)
    ++per_label[labels[i]], ++per_label_group[{labels[i], groups[i]}];
  std::vector<std::int64_t> big_r(n);
  std::int64_t max_r = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    big_r[i] = per_label[labels[i]] - per_label_group[{labels[i], groups[i]}];
    max_r = std::max(max_r, big_r[i]);
  }
  const torch::Tensor sq = x.pow(2).sum(1);
  const torch::Tensor lab = torch::tensor(std::vector<std::int64_t>(labels.begin(), labels.end()));
  const torch::Tensor grp = torch::tensor(std::vector<std::int64_t>(groups.begin(), groups.end()));
  const std::int64_t k = std::max<std::int64_t>(1, std::min(max_r, n - 1));
  double p1 = 0, rp = 0, map = 0;
  std::int64_t queries = 0;
  constexpr std::int64_t kChunk = 512;
  for (std::int64_t start = 0; start < n; start += kChunk) {
    const std::int64_t end = std::min(n, start + kChunk);
    const torch::Tensor q = x.slice(0, start, end);
    torch::Tensor d = sq.slice(0, start, end).unsqueeze(1) + sq.unsqueeze(0) - 2 * q.matmul(x.t());
    // Leave out each query's own group (the query itself included). A query
    // reads only its first R ranks, and it has R finite candidates of its
    // label, so a left-out sample never lands among them.
    d.masked_fill_(grp.slice(0, start, end).unsqueeze(1) == grp.unsqueeze(0),
                   std::numeric_limits<float>::infinity());
    const torch::Tensor idx = std::get<1>(d.topk(k, 1, /*largest=*/false, /*sorted=*/true));
    const torch::Tensor rel = lab.index_select(0, idx.flatten()).reshape(idx.sizes()) ==
                              lab.slice(0, start, end).unsqueeze(1);
    const auto r = rel.accessor<bool, 2>();
    for (std::int64_t i = 0; i < end - start; ++i) {
      const std::int64_t rq = big_r[start + i];
      if (rq < 1) continue;  // nothing relevant to find
      ++queries;
      p1 += r[i][0] ? 1.0 : 0.0;
      double hits = 0, ap = 0;
      for (std::int64_t j = 0; j < rq; ++j) {
        if (r[i][j]) {
          hits += 1;
          ap += hits / double(j + 1);
        }
      }
      rp += hits / double(rq);
      map += ap / double(rq);
    }
  }
  m.queries = queries;
  if (queries) {
    m.precision_at_1 = p1 / queries;
    m.r_precision = rp / queries;
    m.map_at_r = map / queries;
  }
  return m;
}

std::vector<int> kmeans(const torch::Tensor& x_in, int k, std::uint64_t seed, int restarts,
                        int iterations) {
  const torch::Tensor x = x_in.to(torch::kCPU, torch::kFloat64).contiguous();
  const std::int64_t n = x.size(0);
  if (k < 1 || n < k) throw std::invalid_argument("kmeans: need at least k points");
  std::mt19937_64 rng(seed);
  const torch::Tensor sq = x.pow(2).sum(1);
  std::vector<int> best;
  double best_inertia = std::numeric_limits<double>::infinity();
  for (int r = 0; r < restarts; ++r) {
    // k-means++ seeding (Arthur & Vassilvitskii 2007).
    std::vector<std::int64_t> chosen = {
        std::int64_t(std::uniform_int_distribution<std::int64_t>(0, n - 1)(rng))};
    torch::Tensor dmin = (x - x[chosen[0]]).pow(2).sum(1);
    while (int(chosen.size()) < k) {
      const auto acc = dmin.accessor<double, 1>();
      double total = 0;
      for (std::int64_t i = 0; i < n; ++i) total += acc[i];
      double u = std::uniform_real_distribution<double>(0, total)(rng);
      std::int64_t pick = n - 1;
      for (std::int64_t i = 0; i < n; ++i) {
        if ((u -= acc[i]) <= 0) {
          pick = i;
          break;
        }
      }
      chosen.push_back(pick);
      dmin = torch::minimum(dmin, (x - x[pick]).pow(2).sum(1));
    }
    torch::Tensor c = x.index_select(0, torch::tensor(chosen));
    torch::Tensor assign;
    for (int it = 0; it < iterations; ++it) {
      const torch::Tensor d = sq.unsqueeze(1) + c.pow(2).sum(1).unsqueeze(0) - 2 * x.matmul(c.t());
      torch::Tensor next = d.argmin(1);
      if (assign.defined() && torch::equal(next, assign)) break;
      assign = next;
      for (int j = 0; j < k; ++j) {
        const torch::Tensor members = (assign == j).nonzero().flatten();
        if (members.numel() > 0) c[j] = x.index_select(0, members).mean(0);
      }
    }
    const torch::Tensor d = sq.unsqueeze(1) + c.pow(2).sum(1).unsqueeze(0) - 2 * x.matmul(c.t());
    const double inertia = std::get<0>(d.min(1)).sum().item<double>();
    if (inertia < best_inertia) {
      best_inertia = inertia;
      best.assign(n, 0);
      const auto a = assign.accessor<std::int64_t, 1>();
      for (std::int64_t i = 0; i < n; ++i) best[i] = int(a[i]);
    }
  }
  return best;
}

double normalized_mutual_info(const std::vector<int>& a, const std::vector<int>& b) {
  const double n = double(a.size());
  if (a.empty() || a.size() != b.size()) return 0.0;
  std::map<int, double> pa, pb;
  std::map<std::pair<int, int>, double> pab;
  for (std::size_t i = 0; i < a.size(); ++i) pa[a[i]] += 1, pb[b[i]] += 1, pab[{a[i], b[i]}] += 1;
  auto entropy = [&](const std::map<int, double>& p) {
    double h = 0;
    for (const auto& [k, c] : p) h -= c / n * std::log(c / n);
    return h;
  };
  double mi = 0;
  for (const auto& [ij, c] : pab) mi += c / n * std::log(c * n / (pa[ij.first] * pb[ij.second]));
  const double ha = entropy(pa), hb = entropy(pb);
  if (ha + hb == 0) return 1.0;  // both constant: identical partitions
  return 2 * mi / (ha + hb);
}

double clustering_nmi(const torch::Tensor& x, const std::vector<int>& labels, std::uint64_t seed) {
  const int k = int(std::set<int>(labels.begin(), labels.end()).size());
  if (k < 2 || x.size(0) < k) return NAN;
  return normalized_mutual_info(labels, kmeans(x, k, seed));
}

}  // namespace tessera::eval
