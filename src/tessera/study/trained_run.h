// A run directory's network, read with the run's own config.json: the
// trained weights of one of its checkpoints, or the initial weights its
// training started from. What eval/embedder.h takes as typed options.
//
//   eval::TrainedModel m = study::load_trained_model(run_dir);
#pragma once

#include <string>

#include "tessera/eval/embedder.h"
#include "tessera/study/config.h"

namespace tessera::study {

// Throws naming the folder when it holds no config.json.
Config load_run_config(const std::string& run_dir);

// `checkpoint`: "" the latest, an epoch number, or a checkpoint file's path.
eval::TrainedModel load_trained_model(const std::string& run_dir, const std::string& device = "cpu",
                                      const std::string& checkpoint = "");
eval::TrainedModel random_weights_model(const std::string& run_dir,
                                        const std::string& device = "cpu");
// The same for a caller that holds the run's config already (read once).
eval::TrainedModel load_trained_model(const Config& config, const std::string& run_dir,
                                      const std::string& device, const std::string& checkpoint);
eval::TrainedModel random_weights_model(const Config& config, const std::string& run_dir,
                                        const std::string& device);

}  // namespace tessera::study
