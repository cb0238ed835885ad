// The mean and standard deviation of every value of every tile of a
// TileStore: the training set's input statistics for dataset-level
// standardisation (model/resnet.h's input_normalisation "dataset"). One
// pair for the whole input, not per tile or per clip: those would remove
// the level cues that hand-crafted features keep.
#pragma once

#include <cstdint>

#include "tessera/sampling/tile_store.h"

namespace tessera::sampling {

struct TileStatistics {
  double mean = 0, std = 1;
  std::uint64_t values = 0;
};

// Throws std::invalid_argument when the store holds no tile or its values
// do not vary.
TileStatistics tile_statistics(const TileStore& store);

}  // namespace tessera::sampling
