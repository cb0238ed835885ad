#include "tessera/study/config_options.h"

#include <filesystem>
#include <stdexcept>

#include "tessera/common/threads.h"

namespace tessera::study {

audio::AudioOptions audio_options(const Config& c) {
  audio::AudioOptions o;
  o.sample_rate_hz = c.sample_rate;
  o.to_mono = c.to_mono;
  o.channels = c.stereo_channels;
  const bool music = c.dataset == "MusicDataset";
  // An unlabelled folder's recordings are taken whole, of any length.
  const bool whole = music || c.dataset == "FolderDataset";
  o.fixed_length_s = whole ? 0.0 : c.sample_size;
  o.trim = music;
  o.trim_options.top_db = c.trim_top_db;
  return o;
}

features::FeatureOptions feature_options(const Config& c) {
  features::FeatureOptions o;
  o.kind = c.feature_extractor == "MFCCExtractor" ? features::FeatureKind::kMfcc
                                                  : features::FeatureKind::kLogMel;
  o.sample_rate_hz = c.sample_rate;
  o.frame_length_samples = c.frame_length;
  o.frame_step_samples = c.frame_step;
  o.fft_size = c.fft_size;
  o.n_mel_bins = c.n_mel_bin;
  o.n_mfcc = c.n_mfcc_bin;
  o.lower_edge_hz = c.mel_lower_edge_hz;
  return o;
}

data::DatasetSource dataset_source(const Config& config) {
  const Config c = labelled_config(config);
  data::DatasetSource s;
  s.layout = c.dataset == "MusicDataset" ? data::Layout::kMusic : data::Layout::kDcase;
  s.dcase.root = c.dcase_dataset_path;
  s.dcase.fold = c.dcase_dataset_fold;
  s.dcase.eval_root = c.dcase_eval_dataset_path;
  s.dcase.labels = c.labels;
  s.music.root = c.music_dataset_path;
  s.music.held_out = c.train_test_split;
  s.music.seed = c.random_seed;
  s.music.labels = c.labels;
  return s;
}

sampling::TileGeometry tile_geometry(const Config& c) {
  sampling::TileGeometry g;
  const long tile_samples = c.tile_samples();
  if (tile_samples % c.frame_step != 0) {
    throw std::invalid_argument(
        "config: sample_tile_size (" + std::to_string(c.sample_tile_size) +
        " s = " + std::to_string(tile_samples) + " samples) must be a multiple of frame_step (" +
        std::to_string(c.frame_step) + ") so that tiles are slices of the cached features");
  }
  g.tile_frames = c.tile_frames();
  g.step_frames = int(tile_samples / c.frame_step);
  g.tile_seconds = c.sample_tile_size;
  g.channels = c.to_mono ? 1 : c.stereo_channels;
  g.bins = c.feature_bins();
  return g;
}

sampling::SamplerOptions sampler_options(const Config& c) {
  sampling::SamplerOptions o;
  o.tile_seconds = c.sample_tile_size;
  o.neighbourhood_seconds = c.sample_tile_neighbourhood;
  o.opposite_buffer = c.opposite_sample_buffer_size;
  o.shuffle = c.shuffle_dataset;
  o.shuffle_buffer = c.random_selection_buffer_size;
  o.seed = std::uint64_t(c.random_seed);
  return o;
}

sampling::PipelineOptions pipeline_options(const Config& c) {
  sampling::PipelineOptions o;
  o.batch_size = c.batch_size;
  o.workers = common::resolve_threads(c.gen_count);
  o.prefetch_batches = c.prefetch_batches;
  o.memory_budget_mb = c.prefetch_memory_mb;
  return o;
}

model::ResNetOptions model_options(const Config& c) {
  model::ResNetOptions o;
  if (c.model == "ResNet18")
    o.depth = 18;
  else if (c.model == "ResNet34")
    o.depth = 34;
  else if (c.model == "ResNet50")
    o.depth = 50;
  else
    throw std::invalid_argument("config: model '" + c.model +
                                "' must be ResNet18, ResNet34 or ResNet50");
  o.width = c.model_width;
  o.embedding_size = c.embedding_size;
  o.input_normalisation = c.input_normalisation;
  o.pooling = model::parse_pooling(c.pooling);
  o.head = model::parse_head(c.projection_head);
  o.head_hidden = c.projection_hidden;
  o.input_bins = c.feature_bins();
  return o;
}

std::string resolve_cache_dir(const Config& c, const std::string& run_dir) {
  if (!c.cache_dir.empty()) return c.cache_dir;
  return (std::filesystem::path(run_dir) / "cache").string();
}

Config labelled_config(const Config& c) {
  Config l = c;
  if (c.dataset == "FolderDataset") l.dataset = c.eval_dataset;
  return l;
}

int feature_threads(const Config& c, int threads) {
  return std::min(threads * 2, common::resolve_threads(c.num_parallel_calls));
}

sampling::RunDataOptions run_data_options(const Config& config, const std::string& run_dir) {
  const Config labelled = labelled_config(config);
  sampling::RunDataOptions o;
  o.labelled = dataset_source(config);
  o.split_path = (std::filesystem::path(run_dir) / "split.json").string();
  o.audio = audio_options(labelled);
  if (config.dataset == "FolderDataset") {
    o.unlabelled_folder = config.unlabelled_dataset_path;
    o.unlabelled_audio = audio_options(config);
  }
  o.features = feature_options(labelled);
  o.geometry = tile_geometry(labelled);
  o.cache_dir = resolve_cache_dir(config, run_dir);
  return o;
}

loss::ObjectiveOptions objective_options(const Config& c) {
  loss::ObjectiveOptions o;
  o.kind = loss::parse_objective(c.loss);
  o.margin = c.margin;
  o.reduction = loss::parse_reduction(c.loss_reduction);
  o.temperature = c.temperature;
  o.validate();
  return o;
}

augment::AugmentOptions augment_options(const Config& c) {
  augment::AugmentOptions o;
  o.mixback_probability = c.mixback_probability;
  o.mixback_db_min = c.mixback_db_min;
  o.mixback_db_max = c.mixback_db_max;
  o.gain_probability = c.gain_probability;
  o.gain_db = c.gain_db;
  o.time_mask_probability = c.time_mask_probability;
  o.time_mask_fraction = c.time_mask_fraction;
  o.freq_mask_probability = c.freq_mask_probability;
  o.freq_mask_fraction = c.freq_mask_fraction;
  o.validate();
  return o;
}

nlohmann::json resume_fingerprint(const Config& config, int world) {
  nlohmann::json f = {{"model", config.model},
                      {"model_width", config.model_width},
                      {"embedding_size", config.embedding_size},
                      {"margin", config.margin},
                      {"batch_size", config.batch_size},
                      {"random_seed", config.random_seed},
                      {"feature_extractor", config.feature_extractor},
                      {"n_mel_bin", config.n_mel_bin},
                      {"to_mono", config.to_mono},
                      {"world_size", world}};
  const nlohmann::json method = config.to_json();
  const nlohmann::json study = Config().to_json();
  for (const char* key : {"loss", "temperature", "pooling", "projection_head", "projection_hidden",
                          "input_normalisation", "mixback_probability", "mixback_db_min",
                          "mixback_db_max", "gain_probability", "gain_db", "time_mask_probability",
                          "time_mask_fraction", "freq_mask_probability", "freq_mask_fraction"}) {
    if (method[key] != study[key]) f[key] = method[key];
  }
  return f;
}

train::TrainingOptions training_options(const Config& c, int world) {
  train::TrainingOptions t;
  t.epochs = c.epochs;
  t.batch_size = c.batch_size;
  t.learning_rate = c.learning_rate;
  t.lr_decay_rate = c.lr_decay_rate;
  t.lr_decay_steps = c.lr_decay_steps;
  t.l2_amount = c.l2_amount;
  t.seed = std::uint64_t(c.random_seed);
  t.log_every = c.log_every;
  t.save_model = c.save_model;
  t.save_frequency = c.save_frequency;
  t.model = model_options(c);
  t.sampler = sampler_options(c);
  t.pipeline = pipeline_options(c);
  t.objective = objective_options(c);
  t.augment = augment_options(c);
  t.record = c.to_json();
  t.fingerprint = resume_fingerprint(c, world);
  return t;
}

eval::EvaluatorOptions evaluator_options(const Config& c) {
  eval::EvaluatorOptions e;
  e.sampler = sampler_options(c);
  e.pipeline = pipeline_options(c);
  e.margin = c.margin;
  e.reduction = loss::parse_reduction(c.loss_reduction);
  e.max_anchors = c.max_eval_anchors;
  e.seed = std::uint64_t(c.random_seed);
  return e;
}

}  // namespace tessera::study
