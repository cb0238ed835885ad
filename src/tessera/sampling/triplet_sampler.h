// Tile2Vec triplets exactly as the original study drew them:
// - anchors at tiles 0, 1, 2, ... of every recording;
// - the neighbour: another tile of the same recording, at most
//   sample_tile_neighbourhood seconds from the anchor;
// - the opposite: a random tile of a recording from the anchor recording's
//   opposite buffer (opposite_sample_buffer_size recordings drawn at random,
//   never the anchor's own).
// Recordings are visited in a seeded shuffled order and the triplets pass a
// seeded shuffle buffer, like tf.data's shuffle. Everything is derived from
// (seed, epoch), so any run with the same seed sees the same triplets in the
// same order, whatever its thread count.
#pragma once

#include <cstdint>
#include <vector>

namespace tessera::sampling {

struct TripletSpec {
  std::uint32_t anchor_rec = 0, opposite_rec = 0;
  std::uint16_t anchor_tile = 0, neighbour_tile = 0, opposite_tile = 0;
};

struct SamplerOptions {
  double tile_seconds = 2.0;
  double neighbourhood_seconds = 4.0;
  int opposite_buffer = 5;
  bool shuffle = true;
  int shuffle_buffer = 64;
  std::uint64_t seed = 42;
  void validate() const;
  // The largest tile distance a neighbour may have.
  int max_neighbour_offset() const;
};

class TripletSampler {
 public:
  explicit TripletSampler(const SamplerOptions& options);
  // One epoch's triplets for recordings with the given tile counts.
  // Recordings with fewer than two tiles are never anchors nor opposites.
  std::vector<TripletSpec> sample(const std::vector<int>& tiles_per_recording, int epoch) const;
  const SamplerOptions& options() const { return options_; }

 private:
  SamplerOptions options_;
};

// Rank r of w takes specs r, r + w, r + 2w, ...: disjoint shards of one epoch.
std::vector<TripletSpec> shard(const std::vector<TripletSpec>& specs, int rank, int world);

}  // namespace tessera::sampling
