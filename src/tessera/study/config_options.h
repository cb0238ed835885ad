// The study's flat config (study/config.h: the original's params.json keys
// and Tessera's own) mapped onto the typed options of the libraries below
// the experiment: audio loading, features, the labelled layout, tiles,
// triplets, batches, the network, the objective, augmentation, training,
// evaluation and a run's data. Those libraries take only their own options
// and never see the config; this is where its keys get their meaning.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tessera/audio/loader.h"
#include "tessera/augment/tile_augmenter.h"
#include "tessera/data/dataset_loader.h"
#include "tessera/eval/epoch_evaluator.h"
#include "tessera/features/feature_options.h"
#include "tessera/loss/objective.h"
#include "tessera/model/resnet.h"
#include "tessera/sampling/batch_pipeline.h"
#include "tessera/sampling/run_data.h"
#include "tessera/sampling/tile_store.h"
#include "tessera/sampling/triplet_sampler.h"
#include "tessera/study/config.h"
#include "tessera/train/trainer.h"

namespace tessera::study {

// How the config's `dataset` loads audio: DCASE clips cut or padded to
// sample_size; music files whole and trimmed of silence; an unlabelled
// folder's recordings whole.
audio::AudioOptions audio_options(const Config& config);
features::FeatureOptions feature_options(const Config& config);
// The labelled set: the `dataset` layout, or for FolderDataset its
// `eval_dataset` layout.
data::DatasetSource dataset_source(const Config& config);
// Throws std::invalid_argument when a tile is not a whole number of frame
// steps (tiles are slices of the cached features).
sampling::TileGeometry tile_geometry(const Config& config);
sampling::SamplerOptions sampler_options(const Config& config);
sampling::PipelineOptions pipeline_options(const Config& config);
model::ResNetOptions model_options(const Config& config);

// The cache directory of a run: the config's cache_dir, else <run_dir>/cache.
std::string resolve_cache_dir(const Config& config, const std::string& run_dir);
// The config of the labelled set: `config` itself, or for FolderDataset the
// same with dataset set to its eval_dataset.
Config labelled_config(const Config& config);
// Feature threads for a command given `threads` compute threads: twice
// those, at most num_parallel_calls (0: one per core).
int feature_threads(const Config& config, int threads);
// A run's data in `run_dir` (its split file; its cache unless cache_dir).
sampling::RunDataOptions run_data_options(const Config& config, const std::string& run_dir);

loss::ObjectiveOptions objective_options(const Config& config);
augment::AugmentOptions augment_options(const Config& config);

// What must match for a checkpoint to continue a run of `world` processes:
// the model's and the run's shape, and the method's keys that differ from
// the study's defaults (a checkpoint of the study's method, or of a Tessera
// before those keys, has none of them, and still resumes).
nlohmann::json resume_fingerprint(const Config& config, int world);

// What a run of `world` processes trains: the schedule and every option
// above, the config itself as the run's record (config.json), and its
// resume fingerprint.
train::TrainingOptions training_options(const Config& config, int world);
// The end-of-epoch evaluation: the training triplets' sampler and batches,
// the study's margin and loss reduction, max_eval_anchors.
eval::EvaluatorOptions evaluator_options(const Config& config);

}  // namespace tessera::study
