// The classical, non-learned reference of DCASE work: a recording described
// by the mean and the standard deviation of each log-mel band over time.
// Scored by the same probe and protocol as an embedding, it says how much a
// learned space adds to the features it was trained on.
#pragma once

#include "tessera/eval/embedder.h"
#include "tessera/sampling/tile_store.h"

namespace tessera::eval {

// Per recording: [mean of each (channel, band) ..., std of each] over every
// frame its tiles cover (2 * channels * bins values; population std). Per
// tile the same over the tile's frames, for tile retrieval. Labels, names and
// the tile-to-recording map as embed_split gives them.
RecordingEmbeddings logmel_stats_split(const sampling::TileStore& store);

}  // namespace tessera::eval
