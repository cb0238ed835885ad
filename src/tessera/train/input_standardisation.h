// input_normalisation "dataset" (model/resnet.h): one mean and standard
// deviation of all training tiles, computed once at the start of a run and
// kept in the network's buffers, so a checkpoint standardises as training
// did.
#pragma once

#include <string>

#include "tessera/model/resnet.h"
#include "tessera/sampling/tile_store.h"

namespace tessera::train {

// The training tiles' statistics into the network, and into `json_path`
// (input_stats.json) unless it is empty.
void standardise_input(model::ResNetImpl& net, const sampling::TileStore& train,
                       const std::string& json_path);

}  // namespace tessera::train
