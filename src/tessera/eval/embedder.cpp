#include "tessera/eval/embedder.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <stdexcept>

#include "tessera/train/checkpoint.h"

namespace tessera::eval {

TrainedModel random_weights_model(const model::ResNetOptions& options,
                                  sampling::RunDataOptions data, std::uint64_t seed,
                                  const std::string& device) {
  TrainedModel m;
  m.data = std::move(data);
  m.checkpoint = "random weights (seed " + std::to_string(seed) + ")";
  // Seeded as the trainer seeds it, so these are the run's initial weights.
  torch::manual_seed(seed);
  m.net = model::ResNet(options);
  m.device = torch::Device(device);
  m.net->to(m.device);
  m.net->eval();
  return m;
}

void recalibrate_batch_norm(TrainedModel& model, const sampling::TileStore& store, int max_tiles,
                            int batch_size) {
  std::vector<std::pair<std::size_t, int>> all;
  for (std::size_t r = 0; r < store.size(); ++r) {
    for (int t = 0; t < store.tiles(r); ++t) all.emplace_back(r, t);
  }
  if (all.empty()) throw std::runtime_error("batch norm: no tiles to estimate statistics from");
  const std::size_t n = std::min(all.size(), std::size_t(std::max(1, max_tiles)));
  std::vector<std::pair<std::shared_ptr<torch::nn::BatchNorm2dImpl>, c10::optional<double>>> norms;
  for (auto& m : model.net->modules(/*include_self=*/false)) {
    if (auto bn = std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(m)) {
      norms.emplace_back(bn, bn->options.momentum());
      bn->reset_running_stats();
      bn->options.momentum(c10::nullopt);  // cumulative average over the batches
    }
  }
  const auto& g = store.geometry();
  torch::NoGradGuard no_grad;
  model.net->train();  // batch statistics, and running ones updated
  for (std::size_t s = 0; s < n; s += std::size_t(batch_size)) {
    const std::size_t e = std::min(n, s + std::size_t(batch_size));
    if (e - s < 2) break;  // batch norm needs two samples
    torch::Tensor tiles = torch::empty({std::int64_t(e - s), g.channels, g.tile_frames, g.bins});
    for (std::size_t i = s; i < e; ++i) {
      const auto& [r, t] = all[i * all.size() / n];  // evenly spread over the store
      store.copy_tile(r, t, tiles.data_ptr<float>() + (i - s) * g.tile_floats());
    }
    model.net->forward(tiles.to(model.device));
  }
  for (auto& [bn, momentum] : norms) bn->options.momentum(momentum);
  model.net->eval();
}

namespace {

// The checkpoint `wanted` names among `cks` (oldest first): "" the latest,
// digits an epoch, anything else a path.
std::string choose_checkpoint(const std::string& run_dir, const std::vector<std::string>& cks,
                              const std::string& wanted) {
  if (wanted.empty()) return cks.back();
  const bool digits =
      std::all_of(wanted.begin(), wanted.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) {
    if (!std::filesystem::is_regular_file(wanted))
      throw std::runtime_error("model: checkpoint '" + wanted + "' does not exist");
    return wanted;
  }
  const int epoch = std::stoi(wanted);
  std::string have;
  for (const auto& c : cks) {
    const int e = train::checkpoint_epoch(c);
    if (e == epoch) return c;
    have += (have.empty() ? "" : ", ") + std::to_string(e);
  }
  throw std::runtime_error("model: '" + run_dir + "' has no checkpoint of epoch " + wanted +
                           " (it keeps epochs " + have + ")");
}

}  // namespace

TrainedModel load_trained_model(const model::ResNetOptions& options, sampling::RunDataOptions data,
                                const std::string& run_dir, const nlohmann::json& expected,
                                const std::string& device, const std::string& checkpoint) {
  TrainedModel m;
  m.data = std::move(data);
  const auto cks = train::list_checkpoints(run_dir + "/checkpoints");
  if (cks.empty())
    throw std::runtime_error("model: '" + run_dir + "/checkpoints' holds no checkpoint");
  m.checkpoint = choose_checkpoint(run_dir, cks, checkpoint);
  m.net = model::ResNet(options);
  m.epoch = train::load_checkpoint(m.checkpoint, m.net.get(), nullptr, expected).epoch;
  // The run's conv choices go with its weights (ops/conv_plan.h). Embedding
  // computes in fp32, where nothing is tuned; a bf16 forward pass of this
  // network takes the computations the run trained with.
  const std::string plan = run_dir + "/kernel_plan.json";
  if (std::filesystem::exists(plan)) m.net->conv_plan().assign(ops::ConvPlan::load(plan));
  m.device = torch::Device(device);
  m.net->to(m.device);
  m.net->eval();
  return m;
}

Layer parse_layer(const std::string& name) {
  if (name == "embedding") return Layer::kEmbedding;
  if (name == "pooled") return Layer::kPooled;
  throw std::invalid_argument("layer '" + name + "' must be embedding or pooled");
}

std::string layer_name(Layer layer) {
  return layer == Layer::kPooled ? "pooled" : "embedding";
}

Embedder::Embedder(TrainedModel& model, int batch_size, Layer layer)
    : model_(model), batch_(std::max(1, batch_size)), layer_(layer) {}

torch::Tensor Embedder::embed_tiles(const torch::Tensor& tiles) {
  torch::NoGradGuard g;
  model_.net->eval();
  std::vector<torch::Tensor> out;
  for (std::int64_t s = 0; s < tiles.size(0); s += batch_) {
    const torch::Tensor x =
        tiles.slice(0, s, std::min(tiles.size(0), s + batch_)).to(model_.device);
    const torch::Tensor y =
        layer_ == Layer::kPooled ? model_.net->pooled(x) : model_.net->forward(x);
    out.push_back(y.to(torch::kCPU, torch::kFloat32));
  }
  return out.empty() ? torch::empty({0, 0}) : torch::cat(out);
}

torch::Tensor Embedder::embed_recording(const sampling::TileStore& store, std::size_t rec) {
  const auto& g = store.geometry();
  const int n = store.tiles(rec);
  torch::Tensor tiles = torch::empty({n, g.channels, g.tile_frames, g.bins});
  for (int t = 0; t < n; ++t)
    store.copy_tile(rec, t, tiles.data_ptr<float>() + std::size_t(t) * g.tile_floats());
  return embed_tiles(tiles);
}

torch::Tensor Embedder::embed_features(const features::CachedFeatures& f,
                                       const sampling::TileGeometry& g) {
  const int n = g.tiles_in(f.frames());
  torch::Tensor tiles = torch::empty({n, g.channels, g.tile_frames, g.bins});
  const std::size_t per = std::size_t(g.tile_frames) * g.bins;
  for (int t = 0; t < n; ++t) {
    for (int c = 0; c < g.channels; ++c) {
      std::memcpy(tiles.data_ptr<float>() + std::size_t(t) * g.tile_floats() + c * per,
                  f.frame(c, long(t) * g.step_frames), per * sizeof(float));
    }
  }
  return embed_tiles(tiles);
}

void embed_files(Embedder& embedder, features::FeatureCache& cache, const sampling::TileGeometry& g,
                 const std::vector<std::string>& files, int workers,
                 const std::function<void(std::size_t, const torch::Tensor&)>& on_file) {
  const std::size_t ahead = std::size_t(std::max(1, workers)) * 2;
  std::deque<std::future<std::shared_ptr<const features::CachedFeatures>>> queued;
  std::size_t next = 0;
  auto refill = [&] {
    while (next < files.size() && queued.size() < ahead) {
      const std::string& path = files[next++];
      queued.push_back(std::async(std::launch::async, [&cache, path] { return cache.get(path); }));
    }
  };
  // Whole files are gathered until their tiles fill a batch, then embedded
  // together and handed out per file.
  const std::int64_t batch = embedder.batch_size();
  const std::size_t per = std::size_t(g.tile_frames) * g.bins;
  std::vector<float> pending;
  std::vector<int> pending_tiles;  // tiles of each gathered file, in order
  std::size_t first_pending = 0;   // index of the first gathered file
  auto flush = [&] {
    if (pending_tiles.empty()) return;
    const std::int64_t n = std::int64_t(pending.size() / g.tile_floats());
    const torch::Tensor e = embedder.embed_tiles(
        torch::from_blob(pending.data(), {n, g.channels, g.tile_frames, g.bins}));
    std::int64_t at = 0;
    for (std::size_t k = 0; k < pending_tiles.size(); ++k) {
      const int t = pending_tiles[k];
      on_file(first_pending + k, t > 0 ? e.slice(0, at, at + t) : torch::empty({0, e.size(1)}));
      at += t;
    }
    first_pending += pending_tiles.size();
    pending.clear();
    pending_tiles.clear();
  };
  refill();
  std::int64_t gathered = 0;
  while (!queued.empty()) {
    const auto f = queued.front().get();  // rethrows a decoding error, naming the file
    queued.pop_front();
    refill();
    const int n = g.tiles_in(f->frames());
    pending.resize(pending.size() + std::size_t(n) * g.tile_floats());
    float* dst = pending.data() + pending.size() - std::size_t(n) * g.tile_floats();
    for (int t = 0; t < n; ++t) {
      for (int c = 0; c < g.channels; ++c) {
        std::memcpy(dst + std::size_t(t) * g.tile_floats() + c * per,
                    f->frame(c, long(t) * g.step_frames), per * sizeof(float));
      }
    }
    pending_tiles.push_back(n);
    gathered += n;
    if (gathered >= batch) {
      flush();
      gathered = 0;
    }
  }
  flush();
}

RecordingEmbeddings embed_split(Embedder& e, const sampling::TileStore& store) {
  RecordingEmbeddings r;
  std::vector<torch::Tensor> rows, tiles;
  for (std::size_t i = 0; i < store.size(); ++i) {
    tiles.push_back(e.embed_recording(store, i));
    rows.push_back(tiles.back().mean(0));
    r.labels.push_back(store.recording(i).label);
    r.names.push_back(store.recording(i).name);
    r.tile_recording.insert(r.tile_recording.end(), tiles.back().size(0), int(i));
    r.tile_labels.insert(r.tile_labels.end(), tiles.back().size(0), r.labels.back());
  }
  r.vectors = rows.empty() ? torch::empty({0, 0}) : torch::stack(rows);
  r.tiles = tiles.empty() ? torch::empty({0, 0}) : torch::cat(tiles);
  return r;
}

}  // namespace tessera::eval
