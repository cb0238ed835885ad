#include "tessera/study/trained_run.h"

#include <filesystem>
#include <stdexcept>

#include "tessera/study/config_options.h"

namespace tessera::study {

Config load_run_config(const std::string& run_dir) {
  const std::string cfg = run_dir + "/config.json";
  if (!std::filesystem::exists(cfg)) {
    throw std::runtime_error("model: '" + run_dir + "' is not a run directory (no config.json)");
  }
  return Config::load(cfg);
}

eval::TrainedModel load_trained_model(const std::string& run_dir, const std::string& device,
                                      const std::string& checkpoint) {
  const Config c = load_run_config(run_dir);
  // What a checkpoint of another architecture would not fit.
  const nlohmann::json expected = {
      {"model", c.model}, {"model_width", c.model_width}, {"embedding_size", c.embedding_size}};
  eval::TrainedModel m = eval::load_trained_model(model_options(c), run_data_options(c, run_dir),
                                                  run_dir, expected, device, checkpoint);
  m.record = c.to_json();
  return m;
}

eval::TrainedModel random_weights_model(const std::string& run_dir, const std::string& device) {
  const Config c = load_run_config(run_dir);
  eval::TrainedModel m = eval::random_weights_model(model_options(c), run_data_options(c, run_dir),
                                                    std::uint64_t(c.random_seed), device);
  m.record = c.to_json();
  return m;
}

}  // namespace tessera::study
