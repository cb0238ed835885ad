#include "tessera/sampling/triplet_sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

#include "tessera/common/rng.h"

namespace tessera::sampling {

void SamplerOptions::validate() const {
  if (!(tile_seconds > 0)) throw std::invalid_argument("sampler: tile seconds must be > 0");
  if (max_neighbour_offset() < 1) {
    throw std::invalid_argument("sampler: sample_tile_neighbourhood must be >= sample_tile_size");
  }
  if (opposite_buffer < 1)
    throw std::invalid_argument("sampler: opposite_sample_buffer_size must be >= 1");
  if (shuffle_buffer < 1)
    throw std::invalid_argument("sampler: random_selection_buffer_size must be >= 1");
}

int SamplerOptions::max_neighbour_offset() const {
  // A small epsilon so 4.0 / 2.0 is 2 despite rounding.
  return int(std::floor(neighbourhood_seconds / tile_seconds + 1e-9));
}

TripletSampler::TripletSampler(const SamplerOptions& options) : options_(options) {
  options_.validate();
}

std::vector<TripletSpec> TripletSampler::sample(const std::vector<int>& tiles, int epoch) const {
  std::vector<std::uint32_t> usable;
  for (std::uint32_t r = 0; r < tiles.size(); ++r) {
    if (tiles[r] >= 2) usable.push_back(r);
  }
  std::vector<TripletSpec> out;
  if (usable.size() < 2) return out;
  std::mt19937_64 order_rng(common::derive_seed({options_.seed, std::uint64_t(epoch), 0x0deULL}));
  std::vector<std::uint32_t> order = usable;
  if (options_.shuffle) std::shuffle(order.begin(), order.end(), order_rng);
  const int max_off = options_.max_neighbour_offset();
  const int buffer = std::min<int>(options_.opposite_buffer, int(usable.size()) - 1);
  std::vector<TripletSpec> generated;
  for (std::uint32_t rec : order) {
    // Each recording draws from its own stream: its triplets do not depend
    // on which recordings came before it.
    std::mt19937_64 rng(common::derive_seed({options_.seed, std::uint64_t(epoch), rec}));
    // The opposite buffer: distinct recordings other than this one.
    std::vector<std::uint32_t> opposites;
    while (int(opposites.size()) < buffer) {
      const std::uint32_t o =
          usable[std::uniform_int_distribution<std::size_t>(0, usable.size() - 1)(rng)];
      if (o != rec && std::find(opposites.begin(), opposites.end(), o) == opposites.end())
        opposites.push_back(o);
    }
    const int n = tiles[rec];
    for (int a = 0; a < n; ++a) {
      // Neighbour candidates: |j - a| in [1, max_off] within the recording.
      const int lo = std::max(0, a - max_off), hi = std::min(n - 1, a + max_off);
      int j = std::uniform_int_distribution<int>(lo, hi - 1)(rng);
      if (j >= a) ++j;  // skip the anchor itself
      const std::uint32_t o =
          opposites[std::uniform_int_distribution<std::size_t>(0, opposites.size() - 1)(rng)];
      const int ot = std::uniform_int_distribution<int>(0, tiles[o] - 1)(rng);
      TripletSpec s;
      s.anchor_rec = rec;
      s.anchor_tile = std::uint16_t(a);
      s.neighbour_tile = std::uint16_t(j);
      s.opposite_rec = o;
      s.opposite_tile = std::uint16_t(ot);
      generated.push_back(s);
    }
  }
  if (!options_.shuffle) return generated;
  // tf.data-style shuffle buffer: fill it, then repeatedly emit a random slot
  // and refill that slot with the next element.
  std::mt19937_64 buf_rng(common::derive_seed({options_.seed, std::uint64_t(epoch), 0x5b011ULL}));
  const std::size_t cap = std::size_t(options_.shuffle_buffer);
  std::vector<TripletSpec> buf;
  out.reserve(generated.size());
  std::size_t next = 0;
  while (next < generated.size() && buf.size() < cap) buf.push_back(generated[next++]);
  while (!buf.empty()) {
    const std::size_t k = std::uniform_int_distribution<std::size_t>(0, buf.size() - 1)(buf_rng);
    out.push_back(buf[k]);
    if (next < generated.size()) {
      buf[k] = generated[next++];
    } else {
      buf[k] = buf.back();
      buf.pop_back();
    }
  }
  return out;
}

std::vector<TripletSpec> shard(const std::vector<TripletSpec>& specs, int rank, int world) {
  if (world < 1 || rank < 0 || rank >= world) throw std::invalid_argument("shard: bad rank/world");
  std::vector<TripletSpec> out;
  for (std::size_t i = std::size_t(rank); i < specs.size(); i += std::size_t(world))
    out.push_back(specs[i]);
  return out;
}

}  // namespace tessera::sampling
