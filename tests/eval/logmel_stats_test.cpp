// The log-mel statistics baseline (eval/logmel_stats.h) against the same
// statistics written out with plain loops over the stored tiles: per
// (channel, band), the mean and the population standard deviation over every
// frame of a recording, and over each tile's frames for its tile row.
#include "tessera/eval/logmel_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "eval/eval_fixture.h"

namespace tessera::eval {
namespace {

using testing::EvalDataTest;

// [2 * C * B]: means, then population stds, over the frames of `tiles`.
std::vector<double> by_hand(const sampling::TileStore& store, std::size_t rec,
                            const std::vector<int>& tiles) {
  const auto& g = store.geometry();
  const std::size_t cb = std::size_t(g.channels) * g.bins;
  std::vector<double> sum(cb, 0), sq(cb, 0);
  std::vector<float> tile(g.tile_floats());
  double frames = 0;
  for (int t : tiles) {
    store.copy_tile(rec, t, tile.data());
    for (int c = 0; c < g.channels; ++c)
      for (int f = 0; f < g.tile_frames; ++f)
        for (int b = 0; b < g.bins; ++b) {
          const double v = tile[(std::size_t(c) * g.tile_frames + f) * g.bins + b];
          sum[std::size_t(c) * g.bins + b] += v;
          sq[std::size_t(c) * g.bins + b] += v * v;
        }
    frames += g.tile_frames;
  }
  std::vector<double> out(2 * cb);
  for (std::size_t i = 0; i < cb; ++i) {
    const double mean = sum[i] / frames;
    out[i] = mean;
    out[cb + i] = std::sqrt(std::max(0.0, sq[i] / frames - mean * mean));
  }
  return out;
}

TEST_F(EvalDataTest, LogmelStatsAreEachBandsMeanAndPopulationStdOverTheFrames) {
  const sampling::TileStore& store = *data_->eval;
  ASSERT_GT(store.size(), 1u);
  const RecordingEmbeddings r = logmel_stats_split(store);
  const auto& g = store.geometry();
  ASSERT_EQ(r.vectors.size(0), std::int64_t(store.size()));
  ASSERT_EQ(r.vectors.size(1), 2 * g.channels * g.bins);
  std::int64_t tile_row = 0;
  for (std::size_t rec = 0; rec < store.size(); ++rec) {
    std::vector<int> all(store.tiles(rec));
    for (int t = 0; t < store.tiles(rec); ++t) all[t] = t;
    const auto expected = by_hand(store, rec, all);
    const auto row = r.vectors[std::int64_t(rec)];
    for (std::size_t i = 0; i < expected.size(); ++i)
      ASSERT_NEAR(row[std::int64_t(i)].item<float>(), expected[i],
                  1e-4 * (1 + std::abs(expected[i])))
          << "recording " << rec << " value " << i;
    for (int t = 0; t < store.tiles(rec); ++t, ++tile_row) {
      EXPECT_EQ(r.tile_recording[tile_row], int(rec));
      EXPECT_EQ(r.tile_labels[tile_row], store.recording(rec).label);
      const auto one = by_hand(store, rec, {t});
      for (std::size_t i = 0; i < one.size(); ++i)
        ASSERT_NEAR(r.tiles[tile_row][std::int64_t(i)].item<float>(), one[i],
                    1e-4 * (1 + std::abs(one[i])))
            << "recording " << rec << " tile " << t << " value " << i;
    }
    EXPECT_EQ(r.labels[rec], store.recording(rec).label);
    EXPECT_EQ(r.names[rec], store.recording(rec).name);
  }
  EXPECT_EQ(r.tiles.size(0), tile_row);
}

}  // namespace
}  // namespace tessera::eval
