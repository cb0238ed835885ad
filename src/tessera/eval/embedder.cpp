#include "tessera/eval/embedder.h"

#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "tessera/train/checkpoint.h"

namespace tessera::eval {

TrainedModel load_trained_model(const std::string& run_dir, const std::string& device) {
  TrainedModel m;
  const std::string cfg = run_dir + "/config.json";
  if (!std::filesystem::exists(cfg)) {
    throw std::runtime_error("model: '" + run_dir + "' is not a run directory (no config.json)");
  }
  m.config = common::Config::load(cfg);
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

Embedder::Embedder(TrainedModel& model, int batch_size)
    : model_(model), batch_(std::max(1, batch_size)) {}

torch::Tensor Embedder::embed_tiles(const torch::Tensor& tiles) {
  torch::NoGradGuard g;
  model_.net->eval();
  std::vector<torch::Tensor> out;
  for (std::int64_t s = 0; s < tiles.size(0); s += batch_) {
    out.push_back(
        model_.net
            ->forward(tiles.slice(0, s, std::min(tiles.size(0), s + batch_)).to(model_.device))
            .to(torch::kCPU, torch::kFloat32));
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
  std::vector<torch::Tensor> rows;
  for (std::size_t i = 0; i < store.size(); ++i) {
    rows.push_back(e.embed_recording(store, i).mean(0));
    r.labels.push_back(store.recording(i).label);
    r.names.push_back(store.recording(i).name);
  }
  r.vectors = rows.empty() ? torch::empty({0, 0}) : torch::stack(rows);
  return r;
}

}  // namespace tessera::eval
