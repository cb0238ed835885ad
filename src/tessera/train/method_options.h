// The study's flat config mapped onto the method's typed options (the
// objective, the augmentation of training views), a run's resume
// fingerprint, and the input statistics of dataset standardisation. The
// libraries that take these options never see the config.
#pragma once

#include <nlohmann/json.hpp>

#include "tessera/augment/tile_augmenter.h"
#include "tessera/common/config.h"
#include "tessera/loss/objective.h"
#include "tessera/model/resnet.h"
#include "tessera/sampling/tile_store.h"

namespace tessera::train {

loss::ObjectiveOptions objective_options(const common::Config& config);
augment::AugmentOptions augment_options(const common::Config& config);

// What must match for a checkpoint to continue a run of `world` processes:
// the model's and the run's shape, and the method's keys that differ from
// the study's defaults (a checkpoint of the study's method, or of a Tessera
// before those keys, has none of them, and still resumes).
nlohmann::json resume_fingerprint(const common::Config& config, int world);

// input_normalisation "dataset": the training tiles' statistics into the
// network, and into `json_path` (input_stats.json) unless it is empty.
void standardise_input(model::ResNetImpl& net, const sampling::TileStore& train,
                       const std::string& json_path);

}  // namespace tessera::train
