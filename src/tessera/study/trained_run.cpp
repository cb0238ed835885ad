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
  return load_trained_model(load_run_config(run_dir), run_dir, device, checkpoint);
}

eval::TrainedModel load_trained_model(const Config& c, const std::string& run_dir,
                                      const std::string& device, const std::string& checkpoint) {
  // What a checkpoint of another architecture would not fit.
  const nlohmann::json expected = {
      {"model", c.model}, {"model_width", c.model_width}, {"embedding_size", c.embedding_size}};
  eval::TrainedModel m = eval::load_trained_model(model_options(c), run_data_options(c, run_dir),
                                                  run_dir, expected, device, checkpoint);
  m.record = c.to_json();
  return m;
}

eval::TrainedModel random_weights_model(const std::string& run_dir, const std::string& device) {
  return random_weights_model(load_run_config(run_dir), run_dir, device);
}

eval::TrainedModel random_weights_model(const Config& c, const std::string& run_dir,
                                        const std::string& device) {
  eval::TrainedModel m = eval::random_weights_model(model_options(c), run_data_options(c, run_dir),
                                                    std::uint64_t(c.random_seed), device);
  m.record = c.to_json();
  return m;
}

}  // namespace tessera::study
