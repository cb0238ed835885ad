#include "tessera/eval/epoch_evaluator.h"

#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "tessera/common/atomic_file.h"
#include "tessera/device/device_feeder.h"
#include "tessera/eval/embedding_metrics.h"
#include "tessera/eval/retrieval_metrics.h"
#include "tessera/loss/triplet_loss.h"
#include "tessera/sampling/batch_pipeline.h"

namespace tessera::eval {
namespace {

// The eval triplets are drawn once, from a stream no training epoch uses.
constexpr int kEvalEpoch = 1 << 30;
// Silhouette is O(N^2); beyond this many anchors it uses an even subsample.
constexpr std::int64_t kMaxSilhouettePoints = 4000;

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

void EvaluatorOptions::validate() const {
  sampler.validate();
  if (!(margin >= 0) || !std::isfinite(margin))
    throw std::invalid_argument("eval: margin must be a finite number >= 0");
  if (max_anchors < 0) throw std::invalid_argument("eval: max_anchors must be >= 0 (0: all)");
}

EpochEvaluator::EpochEvaluator(const EvaluatorOptions& options, const sampling::TileStore& eval,
                               std::vector<std::string> labels, std::string run_dir,
                               torch::Device device)
    : options_(options),
      store_(eval),
      labels_(std::move(labels)),
      run_dir_(std::move(run_dir)),
      device_(device),
      blocks_(sampling::BufferPool::create(
          options_.pipeline.batch_floats(store_.geometry().tile_floats()),
          device::DeviceFeeder::host_allocator(device))) {
  options_.validate();
  specs_ = sampling::TripletSampler(options_.sampler).sample(store_.tile_counts(), kEvalEpoch);
  if (options_.max_anchors > 0 && specs_.size() > std::size_t(options_.max_anchors)) {
    specs_.resize(std::size_t(options_.max_anchors));
  }
}

train::EpochEval EpochEvaluator::operator()(model::ResNet& net, int epoch) {
  train::EpochEval out;
  if (specs_.empty()) return out;
  torch::NoGradGuard no_grad;
  net->eval();
  loss::TripletLossOptions lo;
  lo.margin = options_.margin;
  lo.reduction = loss::Reduction::kMean;
  const loss::TripletLoss loss(lo);
  const bool zero_filtered = options_.reduction == loss::Reduction::kZeroFiltered;
  sampling::PipelineOptions po = options_.pipeline;
  po.workers = std::min(po.workers, 4);
  sampling::BatchPipeline pipeline(store_, specs_, po, blocks_);
  const auto& g = store_.geometry();
  // Batches reach the device as in training (device/device_feeder.h), and
  // the forward passes are queued without waiting: the anchors' embeddings
  // and the loss sums stay on the device until the last batch, then come
  // back in one copy.
  device::DeviceFeeder feeder(device_, {g.channels, g.tile_frames, g.bins});
  std::vector<torch::Tensor> anchors, sums;
  std::int64_t count = 0;
  sampling::TripletBatch b;
  last_ = EmbeddedSet{};
  const auto push = [&] {
    if (!pipeline.next(b)) return;
    for (const auto& s : b.specs) {
      last_.labels.push_back(store_.recording(s.anchor_rec).label);
      last_.recordings.push_back(int(s.anchor_rec));
      last_.names.push_back(store_.tile_name(s.anchor_rec, s.anchor_tile));
      last_.files.push_back(store_.recording(s.anchor_rec).name);
      last_.tile_starts.push_back(s.anchor_tile * g.tile_seconds);
    }
    feeder.push(std::move(b));
  };
  push();
  while (feeder.pending() > 0) {
    const torch::Tensor tiles = feeder.pop();
    const std::int64_t n = tiles.size(0) / 3;
    const torch::Tensor e = net->forward(tiles).to(torch::kFloat32);
    feeder.release();
    push();
    const auto parts = e.split(n, 0);
    // With the mean reduction, value * n is the batch's sum of per-triplet
    // losses; either reduction of the whole set follows from the sums.
    const auto r = loss.compute(parts[0], parts[1], parts[2]);
    const auto f64 = [](const torch::Tensor& x) { return x.to(torch::kFloat64); };
    sums.push_back(torch::stack({f64(r.loss) * double(n), f64(r.dist_neighbour) * double(n),
                                 f64(r.dist_opposite) * double(n), f64(r.active)}));
    count += n;
    anchors.push_back(parts[0].clone());
  }
  net->train();
  last_.embeddings = torch::cat(anchors).to(torch::kCPU);
  // Summed on the host in batch order, as doubles: the same sums on any device.
  const torch::Tensor per_batch = torch::stack(sums).to(torch::kCPU).contiguous();
  const double* v = per_batch.data_ptr<double>();
  double sum_loss = 0, sum_an = 0, sum_ao = 0;
  std::int64_t active = 0;
  for (std::int64_t i = 0; i < per_batch.size(0); ++i, v += 4) {
    sum_loss += v[0];
    sum_an += v[1];
    sum_ao += v[2];
    active += std::int64_t(v[3]);
  }
  out.triplet_loss = zero_filtered ? (active ? sum_loss / active : 0.0) : sum_loss / count;
  out.dist_neighbour = sum_an / count;
  out.dist_opposite = sum_ao / count;
  out.active_fraction = double(active) / count;
  const auto idx = even_subsample(last_.embeddings.size(0), kMaxSilhouettePoints);
  std::vector<int> sub_labels, sub_recordings;
  for (auto i : idx) {
    sub_labels.push_back(last_.labels[i]);
    sub_recordings.push_back(last_.recordings[i]);
  }
  out.silhouette =
      silhouette_score(last_.embeddings.index_select(0, torch::tensor(idx)), sub_labels);
  const torch::Tensor centroids =
      centroid_distances(last_.embeddings, last_.labels, int(labels_.size()));
  out.centroid_cv = centroid_cv(centroids);
  const torch::Tensor sub = last_.embeddings.index_select(0, torch::tensor(idx));
  // Anchors are the retrieval units, but a tile finding another tile of its
  // own recording says nothing about classes: those are left out.
  const RetrievalMetrics rm = retrieval_metrics(sub, sub_labels, sub_recordings);
  out.precision_at_1 = rm.precision_at_1;
  out.r_precision = rm.r_precision;
  out.map_at_r = rm.map_at_r;
  out.nmi = clustering_nmi(sub, sub_labels, options_.seed);
  out.embeddings_dir = "eval/epoch_" + std::to_string(epoch);
  write_embedding_files(run_dir_ + "/" + out.embeddings_dir, last_, labels_, centroids);
  out.labels = int(labels_.size());
  const torch::Tensor c = centroids.contiguous();
  out.centroid_distances.assign(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  return out;
}

void write_embedding_files(const std::string& dir, const EmbeddedSet& set,
                           const std::vector<std::string>& labels, const torch::Tensor& centroids) {
  common::make_dirs(dir);
  std::ostringstream csv;
  csv << "label";
  for (const auto& l : labels) csv << "," << l;
  csv << "\n";
  const auto c = centroids.accessor<double, 2>();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    csv << labels[i];
    for (std::size_t j = 0; j < labels.size(); ++j) csv << "," << fmt(c[i][j]);
    csv << "\n";
  }
  common::write_file_atomic(dir + "/centroid_distances.csv", csv.str());
  const bool tiles = set.files.size() == set.names.size() && !set.files.empty();
  std::string emb, lab, nam, meta = tiles ? "label\tfile\ttile_start\n" : "label\tname\n";
  const torch::Tensor e = set.embeddings.contiguous();
  const float* p = e.data_ptr<float>();
  const std::int64_t n = e.size(0), d = e.size(1);
  char buf[32];
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < d; ++j) {
      std::snprintf(buf, sizeof buf, j ? "\t%.6g" : "%.6g", p[i * d + j]);
      emb += buf;
    }
    emb += '\n';
    const std::string label = set.labels[i] >= 0 ? labels[set.labels[i]] : "unknown";
    lab += label + "\n";
    nam += set.names[i] + "\n";
    if (tiles) {
      std::snprintf(buf, sizeof buf, "%g", set.tile_starts[i]);
      meta += label + "\t" + set.files[i] + "\t" + buf + "\n";
    } else {
      meta += label + "\t" + set.names[i] + "\n";
    }
  }
  common::write_file_atomic(dir + "/embeddings.tsv", emb);
  common::write_file_atomic(dir + "/labels.tsv", lab);
  common::write_file_atomic(dir + "/names.tsv", nam);
  common::write_file_atomic(dir + "/metadata.tsv", meta);
}

}  // namespace tessera::eval
