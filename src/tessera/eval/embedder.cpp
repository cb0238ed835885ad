#include "tessera/eval/embedder.h"

#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "tessera/train/checkpoint.h"

namespace tessera::eval {

namespace {

common::Config load_run_config(const std::string& run_dir) {
  const std::string cfg = run_dir + "/config.json";
  if (!std::filesystem::exists(cfg)) {
    throw std::runtime_error("model: '" + run_dir + "' is not a run directory (no config.json)");
  }
  return common::Config::load(cfg);
}

}  // namespace

TrainedModel random_weights_model(const std::string& run_dir, const std::string& device) {
  TrainedModel m;
  m.config = load_run_config(run_dir);
  m.checkpoint = "random weights (seed " + std::to_string(m.config.random_seed) + ")";
  // Seeded as the trainer seeds it, so these are the run's initial weights.
  torch::manual_seed(std::uint64_t(m.config.random_seed));
  m.net = model::ResNet(model::ResNetOptions::from_config(m.config));
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

TrainedModel load_trained_model(const std::string& run_dir, const std::string& device) {
  TrainedModel m;
  m.config = load_run_config(run_dir);
  const auto cks = train::list_checkpoints(run_dir + "/checkpoints");
  if (cks.empty())
    throw std::runtime_error("model: '" + run_dir + "/checkpoints' holds no checkpoint");
  m.checkpoint = cks.back();
  m.net = model::ResNet(model::ResNetOptions::from_config(m.config));
  train::load_checkpoint(m.checkpoint, m.net.get(), nullptr,
                         {{"model", m.config.model},
                          {"model_width", m.config.model_width},
                          {"embedding_size", m.config.embedding_size}});
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
