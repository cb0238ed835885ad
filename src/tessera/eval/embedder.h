// A trained model put to use: load a run directory's model, embed tiles,
// recordings and whole splits. A recording's vector is the mean of its tile
// embeddings (tiles at 0, t, 2t, ... as in training).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/features/feature_cache.h"
#include "tessera/model/resnet.h"
#include "tessera/sampling/run_data.h"
#include "tessera/sampling/tile_store.h"

namespace tessera::eval {

struct TrainedModel {
  model::ResNet net{nullptr};
  // The run's data: its labelled set, audio loading, features and tiles.
  sampling::RunDataOptions data;
  // The run's own record (its config.json): an ONNX export carries it as
  // metadata (export/onnx_export.h); eval does not read it.
  nlohmann::json record = nlohmann::json::object();
  std::string checkpoint;
  torch::Device device = torch::kCPU;
  int epoch = 0;  // epochs the checkpoint had completed
};

// A network of `options` with a checkpoint of the run in `run_dir`, in eval
// mode: the latest, or the one `checkpoint` names (an epoch number, or a
// checkpoint file's path), whose metadata must match `expected`
// (train/checkpoint.h); and the run's conv plan (ops/conv_plan.h). Throws
// naming the run and the epochs it has when there is no such checkpoint.
// study/trained_run.h reads these from a run directory's config.json.
TrainedModel load_trained_model(const model::ResNetOptions& options, sampling::RunDataOptions data,
                                const std::string& run_dir, const nlohmann::json& expected,
                                const std::string& device = "cpu",
                                const std::string& checkpoint = "");

// The baseline a trained model must beat: the run's architecture with the
// initial weights its training started from (the same seed), untrained.
// Call recalibrate_batch_norm before use, or its batch norms see unit
// statistics.
TrainedModel random_weights_model(const model::ResNetOptions& options,
                                  sampling::RunDataOptions data, std::uint64_t seed,
                                  const std::string& device = "cpu");

// Re-estimates every batch norm's running mean and variance as the plain
// average over the tiles of `store` (at most max_tiles, evenly spread),
// without touching any weight. A random network's features are only
// meaningful with statistics of real inputs.
void recalibrate_batch_norm(TrainedModel& model, const sampling::TileStore& store,
                            int max_tiles = 2048, int batch_size = 64);

// Which representation an Embedder returns: the unit embedding the triplet
// loss shaped (the study's), or the pooled features the head projects.
enum class Layer { kEmbedding, kPooled };
Layer parse_layer(const std::string& name);
std::string layer_name(Layer layer);

class Embedder {
 public:
  Embedder(TrainedModel& model, int batch_size = 64, Layer layer = Layer::kEmbedding);
  // [n, C, frames, bins] tiles -> [n, E] on the CPU.
  torch::Tensor embed_tiles(const torch::Tensor& tiles);
  // Every tile of recording `rec` of a store -> [tiles, E].
  torch::Tensor embed_recording(const sampling::TileStore& store, std::size_t rec);
  // Every tile of a feature matrix -> [tiles, E] (tile starts are multiples of the tile step).
  torch::Tensor embed_features(const features::CachedFeatures& f, const sampling::TileGeometry& g);
  int batch_size() const { return batch_; }

 private:
  TrainedModel& model_;
  int batch_;
  Layer layer_;
};

// Embeds audio files in order, for `tessera embed`: `workers` threads
// decode and compute the features of the next files while the network runs,
// and tiles of consecutive files share forward batches (a 10 s file has only
// five 2 s tiles). on_file(i, tiles [n_i, E]) is called for every file in
// order; a file shorter than one tile gets an empty [0, E] tensor. A file
// that cannot be decoded throws, naming it.
void embed_files(Embedder& embedder, features::FeatureCache& cache,
                 const sampling::TileGeometry& geometry, const std::vector<std::string>& files,
                 int workers,
                 const std::function<void(std::size_t, const torch::Tensor&)>& on_file);

struct RecordingEmbeddings {
  torch::Tensor vectors;  // [recordings, E]: the mean over each recording's tiles
  std::vector<int> labels;
  std::vector<std::string> names;
  torch::Tensor tiles;              // [all tiles, E]
  std::vector<int> tile_recording;  // row of `vectors` each tile belongs to
  std::vector<int> tile_labels;
};
RecordingEmbeddings embed_split(Embedder& e, const sampling::TileStore& store);

}  // namespace tessera::eval
