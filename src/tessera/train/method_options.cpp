#include "tessera/train/method_options.h"

#include "tessera/common/atomic_file.h"
#include "tessera/common/json_text.h"
#include "tessera/common/log.h"
#include "tessera/sampling/tile_statistics.h"

namespace tessera::train {

loss::ObjectiveOptions objective_options(const common::Config& c) {
  loss::ObjectiveOptions o;
  o.kind = loss::parse_objective(c.loss);
  o.margin = c.margin;
  o.reduction = loss::parse_reduction(c.loss_reduction);
  o.temperature = c.temperature;
  o.validate();
  return o;
}

augment::AugmentOptions augment_options(const common::Config& c) {
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

nlohmann::json resume_fingerprint(const common::Config& config, int world) {
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
  const nlohmann::json study = common::Config().to_json();
  for (const char* key : {"loss", "temperature", "pooling", "projection_head", "projection_hidden",
                          "input_normalisation", "mixback_probability", "mixback_db_min",
                          "mixback_db_max", "gain_probability", "gain_db", "time_mask_probability",
                          "time_mask_fraction", "freq_mask_probability", "freq_mask_fraction"}) {
    if (method[key] != study[key]) f[key] = method[key];
  }
  return f;
}

void standardise_input(model::ResNetImpl& net, const sampling::TileStore& train,
                       const std::string& json_path) {
  const sampling::TileStatistics st = sampling::tile_statistics(train);
  net.set_input_statistics(st.mean, st.std);
  common::log_info("input statistics of the training set: mean ", st.mean, ", std ", st.std);
  if (json_path.empty()) return;
  const nlohmann::json j = {
      {"mean", st.mean}, {"std", st.std}, {"values", st.values}, {"recordings", train.size()}};
  common::write_file_atomic(json_path, common::dump_json(j, 2) + "\n");
}

}  // namespace tessera::train
