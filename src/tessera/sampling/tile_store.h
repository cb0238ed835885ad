// The recordings of one split with their cached feature matrices, as tiles:
// tile i of a recording starts at i * sample_tile_size seconds, which is a
// whole number of frames, so a tile is a slice of the cached matrix.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tessera/data/dataset.h"
#include "tessera/features/feature_cache.h"

namespace tessera::sampling {

struct TileGeometry {
  int tile_frames = 198;  // frames per tile
  int step_frames = 200;  // frames between tile starts (tile seconds / frame step)
  double tile_seconds = 2.0;
  int channels = 1;
  int bins = 128;
  // Throws std::invalid_argument when a tile start is not a whole frame.
  std::size_t tile_floats() const { return std::size_t(channels) * tile_frames * bins; }
  int tiles_in(long frames) const {
    return frames < tile_frames ? 0 : int((frames - tile_frames) / step_frames) + 1;
  }
};

class TileStore {
 public:
  // Loads (or computes into the cache) every recording with `threads`
  // workers. A recording that cannot be decoded or holds fewer than
  // `min_tiles` tiles is dropped and recorded in `skipped`.
  static TileStore build(const std::vector<data::Recording>& recordings,
                         features::FeatureCache& cache, const TileGeometry& geometry, int threads,
                         int min_tiles, data::SkipReport& skipped,
                         const std::string& progress_label = "");

  std::size_t size() const { return recordings_.size(); }
  const data::Recording& recording(std::size_t i) const { return recordings_[i]; }
  const std::vector<data::Recording>& recordings() const { return recordings_; }
  int tiles(std::size_t i) const { return tiles_[i]; }
  const std::vector<int>& tile_counts() const { return tiles_; }
  const TileGeometry& geometry() const { return geometry_; }
  // Copies tile `tile` of recording `rec` ([channels][tile_frames][bins]) to dst.
  void copy_tile(std::size_t rec, int tile, float* dst) const;
  // "audio/x.wav__4.0": the name of a tile in projector exports.
  std::string tile_name(std::size_t rec, int tile) const;

 private:
  TileGeometry geometry_;
  std::vector<data::Recording> recordings_;
  std::vector<std::shared_ptr<const features::CachedFeatures>> features_;
  std::vector<int> tiles_;
};

}  // namespace tessera::sampling
