#include "tessera/sampling/triplet_sampler.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

namespace tessera::sampling {
namespace {

bool same(const std::vector<TripletSpec>& a, const std::vector<TripletSpec>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].anchor_rec != b[i].anchor_rec || a[i].anchor_tile != b[i].anchor_tile ||
        a[i].neighbour_tile != b[i].neighbour_tile || a[i].opposite_rec != b[i].opposite_rec ||
        a[i].opposite_tile != b[i].opposite_tile) {
      return false;
    }
  }
  return true;
}

// Table 1: 10 s recordings in 2 s tiles give 5 anchors each; the neighbour
// lies within 4 s, i.e. at most 2 tiles away, and is never the anchor.
TEST(TripletSamplerTest, FollowsTheStudysRules) {
  TripletSampler s{SamplerOptions{}};
  const std::vector<int> tiles(50, 5);
  const auto specs = s.sample(tiles, 0);
  ASSERT_EQ(specs.size(), 250u);
  std::map<std::uint32_t, std::set<int>> anchors;
  std::map<std::uint32_t, std::set<std::uint32_t>> opposites;
  for (const auto& t : specs) {
    EXPECT_TRUE(anchors[t.anchor_rec].insert(t.anchor_tile).second) << "anchor drawn twice";
    EXPECT_NE(t.neighbour_tile, t.anchor_tile);
    EXPECT_LE(std::abs(int(t.neighbour_tile) - int(t.anchor_tile)), 2);
    EXPECT_LT(t.neighbour_tile, 5);
    EXPECT_NE(t.opposite_rec, t.anchor_rec);
    EXPECT_LT(t.opposite_tile, 5);
    opposites[t.anchor_rec].insert(t.opposite_rec);
  }
  for (const auto& [rec, set] : anchors) EXPECT_EQ(set.size(), 5u) << rec;
  // Opposites of one recording come from its buffer of 5 recordings.
  for (const auto& [rec, set] : opposites) EXPECT_LE(set.size(), 5u);
}

TEST(TripletSamplerTest, NeighbourReachesBothSidesOfTheRange) {
  SamplerOptions o;
  o.shuffle = false;
  TripletSampler s(o);
  std::set<int> offsets;
  for (int e = 0; e < 20; ++e) {
    for (const auto& t : s.sample(std::vector<int>(10, 5), e)) {
      if (t.anchor_tile == 2) offsets.insert(int(t.neighbour_tile) - 2);
    }
  }
  EXPECT_EQ(offsets, (std::set<int>{-2, -1, 1, 2}));
}

TEST(TripletSamplerTest, DeterministicPerSeedAndEpoch) {
  TripletSampler s{SamplerOptions{}};
  const std::vector<int> tiles = {5, 5, 3, 7, 5, 2, 5};
  EXPECT_TRUE(same(s.sample(tiles, 3), s.sample(tiles, 3)));
  EXPECT_FALSE(same(s.sample(tiles, 3), s.sample(tiles, 4)));
  SamplerOptions o;
  o.seed = 43;
  EXPECT_FALSE(same(TripletSampler(o).sample(tiles, 3), s.sample(tiles, 3)));
}

TEST(TripletSamplerTest, RecordingsWithOneTileAreNeverUsed) {
  TripletSampler s{SamplerOptions{}};
  const auto specs = s.sample({5, 1, 5, 0, 5}, 0);
  for (const auto& t : specs) {
    EXPECT_NE(t.anchor_rec, 1u);
    EXPECT_NE(t.opposite_rec, 1u);
    EXPECT_NE(t.anchor_rec, 3u);
    EXPECT_NE(t.opposite_rec, 3u);
  }
  EXPECT_EQ(specs.size(), 15u);
}

// Every triplet of the epoch lands in exactly one rank's shard, at the
// place round-robin promises (spec i on rank i % w, as its (i / w)-th), for
// world sizes that divide the epoch and ones that do not.
TEST(TripletSamplerTest, ShardsAreDisjointAndCoverTheEpoch) {
  TripletSampler s{SamplerOptions{}};
  const auto specs = s.sample(std::vector<int>(9, 5), 1);
  ASSERT_EQ(specs.size(), 45u);
  for (int world : {1, 2, 3, 4, 7}) {
    std::vector<std::vector<TripletSpec>> shards;
    std::size_t total = 0;
    for (int r = 0; r < world; ++r) {
      shards.push_back(shard(specs, r, world));
      total += shards.back().size();
    }
    EXPECT_EQ(total, specs.size()) << world;
    // Each spec exactly once: where round-robin puts it, and the shards hold
    // nothing else (their sizes add up to the epoch).
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const auto& mine = shards[i % world];
      ASSERT_LT(i / world, mine.size()) << world;
      EXPECT_TRUE(same({mine[i / world]}, {specs[i]})) << "world " << world << " spec " << i;
    }
    // Shard sizes differ by at most one.
    for (const auto& sh : shards) EXPECT_LE(shards.front().size() - sh.size(), 1u) << world;
  }
  EXPECT_THROW(shard(specs, 2, 2), std::invalid_argument);
}

TEST(TripletSamplerTest, BadOptionsAreRejected) {
  SamplerOptions o;
  o.neighbourhood_seconds = 1.0;
  EXPECT_THROW(TripletSampler{o}, std::invalid_argument);
  o = SamplerOptions{};
  o.opposite_buffer = 0;
  EXPECT_THROW(TripletSampler{o}, std::invalid_argument);
}

}  // namespace
}  // namespace tessera::sampling
