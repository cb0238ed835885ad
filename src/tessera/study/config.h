// The experiment configuration: every key of the original project's params.json
// with the same meaning, plus the keys Tessera adds. The file format is a flat
// JSON object; unknown keys are errors so that a typo never silently falls back
// to a default.
//
//   Config c = Config::load("configs/margin_experiment_dcase.json");
//   c.apply_override("margin=0.5");
//   c.validate();
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tessera::study {

struct Config {
  // ---- the original params.json ----
  std::string experiment_name = "margin_experiment";
  std::string dcase_dataset_path;
  int dcase_dataset_fold = 1;
  std::string dcase_eval_dataset_path;
  std::string music_dataset_path;
  std::string log_level = "info";
  std::string model = "ResNet18";
  std::string dataset = "DCASEDataset";
  std::string saved_model_path;  // where `train` writes when --run-dir is not given
  bool save_model = true;
  int save_frequency = 1;     // epochs between checkpoints
  bool use_profiler = false;  // accepted for compatibility; Tessera has no profiler hook
  int epochs = 10;
  int batch_size = 256;
  int prefetch_batches = 2048;
  int random_selection_buffer_size = 64;
  double learning_rate = 1e-3;
  double l2_amount = 0.0;
  int random_seed = 42;
  bool shuffle_dataset = true;
  double train_test_split = 0.2;  // music layout: fraction of each label's files held out
  // Batch-assembly workers and feature threads; 0: one per core this
  // process may use (common/threads.h). Neither changes any result.
  int gen_count = 0;
  int num_parallel_calls = 0;
  int opposite_sample_buffer_size = 5;
  int sample_rate = 16000;                 // Hz
  double sample_size = 10.0;               // seconds per recording (DCASE mode)
  double sample_tile_size = 2.0;           // seconds per tile
  double sample_tile_neighbourhood = 4.0;  // seconds a neighbour may lie from its anchor
  int stereo_channels = 4;                 // channels kept when to_mono is false
  bool to_mono = true;
  std::string feature_extractor = "LogMelExtractor";
  int frame_length = 480;  // samples
  int frame_step = 160;    // samples
  int fft_size = 1024;
  int n_mel_bin = 128;
  int n_mfcc_bin = 13;
  double margin = 1.0;
  int embedding_size = 512;

  // ---- added by Tessera ----
  std::vector<double> margins = {0.3, 0.5, 0.7, 1.0, 2.0, 10.0};
  std::vector<std::string> labels;               // empty: the dataset's default label list
  int model_width = 64;                          // filters of the first ResNet stage
  std::string input_normalisation = "none";      // or "tile_mean": see ResNetOptions
  std::string loss_reduction = "zero_filtered";  // or "mean"
  double lr_decay_rate = 0.95;
  int lr_decay_steps = 7500;
  int log_every = 10;  // steps between log lines
  double mel_lower_edge_hz = 50.0;
  double trim_top_db = 60.0;  // music layout silence trimming
  std::string cache_dir;      // empty: <run dir>/../cache or the sweep's shared cache
  // dataset "FolderDataset": train on every audio file under this folder
  // (data/folder_reader.h), unlabelled; evaluation and the probes use the
  // labelled set of the `eval_dataset` layout and its path keys.
  std::string unlabelled_dataset_path;
  std::string eval_dataset = "DCASEDataset";  // or "MusicDataset"
  double prefetch_memory_mb = 2048.0;         // cap on the memory the prefetch queue may hold
  int max_eval_anchors = 0;                   // 0: every eval anchor
  double min_active_fraction = 0.02;          // recommendation: below this a margin learned nothing
  double max_satisfiable_margin = 4.0;  // recommendation: unit vectors give d(a,n) - d(a,o) >= -4
  double cv_tie_tolerance = 0.01;       // recommendation: centroid_cv this close is a tie

  // ---- the method beyond the study (each default is the study's) ----
  std::string pooling = "average";         // or "time_stats" (model/resnet.h)
  std::string projection_head = "linear";  // or "mlp"
  int projection_hidden = 512;             // the MLP head's hidden units
  std::string loss = "triplet";  // or "batch_hard", "semi_hard", "nt_xent" (loss/objective.h)
  double temperature = 0.1;      // nt_xent
  // Augmentation of training views (augment/tile_augmenter.h).
  double mixback_probability = 0;
  double mixback_db_min = -20;
  double mixback_db_max = -10;
  double gain_probability = 0;
  double gain_db = 6;
  double time_mask_probability = 0;
  double time_mask_fraction = 0.1;
  double freq_mask_probability = 0;
  double freq_mask_fraction = 0.1;

  static Config load(const std::string& path);
  static Config from_json(const nlohmann::json& j, const std::string& origin);
  nlohmann::json to_json() const;
  void save(const std::string& path) const;

  // "key=value"; the value is read as JSON when it parses, else as a string.
  void apply_override(const std::string& assignment);
  // Throws std::invalid_argument naming the key and the rule it breaks.
  void validate() const;

  // Derived sizes.
  int tile_samples() const;
  int tile_frames() const;  // frames of one tile: 1 + (tile - frame) / step
  int clip_samples() const;
  int feature_bins() const;  // n_mel_bin or n_mfcc_bin

  static std::vector<std::string> known_keys();
};

}  // namespace tessera::study
