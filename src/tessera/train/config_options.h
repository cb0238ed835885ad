// The study's flat config (common/config.h: the original's params.json keys
// and Tessera's own) mapped onto the typed options of the libraries below
// training: audio loading, features, the labelled layout, tiles, triplets,
// the batch pipeline, the network and a run's data. Those libraries take
// only their own options and never see the config; this is where its keys
// get their meaning for them.
#pragma once

#include <string>

#include "tessera/audio/loader.h"
#include "tessera/common/config.h"
#include "tessera/data/dataset_loader.h"
#include "tessera/features/feature_options.h"
#include "tessera/model/resnet.h"
#include "tessera/sampling/batch_pipeline.h"
#include "tessera/sampling/run_data.h"
#include "tessera/sampling/tile_store.h"
#include "tessera/sampling/triplet_sampler.h"

namespace tessera::train {

// How the config's `dataset` loads audio: DCASE clips cut or padded to
// sample_size; music files whole and trimmed of silence; an unlabelled
// folder's recordings whole.
audio::AudioOptions audio_options(const common::Config& config);
features::FeatureOptions feature_options(const common::Config& config);
// The labelled set: the `dataset` layout, or for FolderDataset its
// `eval_dataset` layout.
data::DatasetSource dataset_source(const common::Config& config);
// Throws std::invalid_argument when a tile is not a whole number of frame
// steps (tiles are slices of the cached features).
sampling::TileGeometry tile_geometry(const common::Config& config);
sampling::SamplerOptions sampler_options(const common::Config& config);
sampling::PipelineOptions pipeline_options(const common::Config& config);
model::ResNetOptions model_options(const common::Config& config);

// The cache directory of a run: the config's cache_dir, else <run_dir>/cache.
std::string resolve_cache_dir(const common::Config& config, const std::string& run_dir);
// The config of the labelled set: `config` itself, or for FolderDataset the
// same with dataset set to its eval_dataset.
common::Config labelled_config(const common::Config& config);
// Feature threads for a command given `threads` compute threads: twice
// those, at most num_parallel_calls (0: one per core).
int feature_threads(const common::Config& config, int threads);
// A run's data in `run_dir` (its split file; its cache unless cache_dir).
sampling::RunDataOptions run_data_options(const common::Config& config, const std::string& run_dir);

}  // namespace tessera::train
