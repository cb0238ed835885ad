// The augmenter's measured effects on constructed log-mel tiles: each
// augmentation does what its keys say, and nothing else. Provenance: the
// expected values are computed here from the definitions in
// tile_augmenter.h (mel magnitudes = exp(x) - log_floor), not read back from
// the implementation.
#include "tessera/augment/tile_augmenter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>

namespace tessera::augment {
namespace {

constexpr double kFloor = 1e-6;

// `count` views of positive mel magnitudes, as log(mel + floor).
std::vector<float> make_views(std::size_t count, const TileShape& shape, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> mag(0.01, 2.0);
  std::vector<float> v(count * shape.floats());
  for (auto& x : v) x = float(std::log(mag(gen) + kFloor));
  return v;
}

double linear(float x) {
  return std::max(0.0, std::exp(double(x)) - kFloor);
}

double rms(const std::vector<double>& m) {
  double s = 0;
  for (double x : m) s += x * x;
  return std::sqrt(s / double(m.size()));
}

std::vector<std::uint64_t> streams(std::size_t count, std::uint64_t base) {
  std::vector<std::uint64_t> s(count);
  for (std::size_t i = 0; i < count; ++i) s[i] = base * 1000 + i;
  return s;
}

const TileShape kShape{2, 20, 16};

TEST(TileAugmenterTest, MixBackAddsAnotherRecordingAtADrawnLevelWithinItsRange) {
  AugmentOptions o;
  o.mixback_probability = 1;
  o.mixback_db_min = -18;
  o.mixback_db_max = -6;
  const std::size_t count = 12;
  const std::vector<float> before = make_views(count, kShape, 1);
  std::vector<float> after = before;
  // Views 0-3 of recording 7, the others of their own.
  std::vector<std::uint32_t> recs = {7, 7, 7, 7, 1, 2, 3, 4, 5, 6, 8, 9};
  const auto done = TileAugmenter(o).apply(after.data(), count, kShape, recs, streams(count, 3));
  const std::size_t n = kShape.floats();
  double lowest = 0, highest = -100;
  for (std::size_t v = 0; v < count; ++v) {
    ASSERT_GE(done[v].background, 0) << "view " << v;
    const std::size_t w = std::size_t(done[v].background);
    EXPECT_NE(recs[w], recs[v]) << "a background from the view's own recording";
    std::vector<double> own(n), added(n), expected(n);
    for (std::size_t i = 0; i < n; ++i) {
      own[i] = linear(before[v * n + i]);
      added[i] = linear(after[v * n + i]) - own[i];
    }
    // The added part is the background's magnitudes times one factor ...
    for (std::size_t i = 0; i < n; ++i) expected[i] = linear(before[w * n + i]);
    const double factor = rms(added) / rms(expected);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_NEAR(added[i], factor * expected[i], 1e-5 * (1 + own[i])) << "view " << v;
    }
    // ... at the drawn level relative to the view, inside the range.
    const double measured_db = 20 * std::log10(rms(added) / rms(own));
    EXPECT_NEAR(measured_db, done[v].mixback_db, 0.01) << "view " << v;
    EXPECT_GE(measured_db, o.mixback_db_min - 0.01);
    EXPECT_LE(measured_db, o.mixback_db_max + 0.01);
    lowest = std::min(lowest, measured_db);
    highest = std::max(highest, measured_db);
  }
  // Twelve draws spread over the range, not one level for all.
  EXPECT_GT(highest - lowest, 3.0);
}

TEST(TileAugmenterTest, MixBackSkipsAViewWhoseBatchHoldsNoOtherRecording) {
  AugmentOptions o;
  o.mixback_probability = 1;
  std::vector<float> views = make_views(3, kShape, 2);
  const std::vector<float> before = views;
  const auto done = TileAugmenter(o).apply(views.data(), 3, kShape, {4, 4, 4}, streams(3, 1));
  for (const auto& d : done) EXPECT_EQ(d.background, -1);
  EXPECT_EQ(views, before);
}

TEST(TileAugmenterTest, GainScalesTheMelMagnitudesByTheDrawnGain) {
  AugmentOptions o;
  o.gain_probability = 1;
  o.gain_db = 9;
  const std::size_t count = 10;
  const std::vector<float> before = make_views(count, kShape, 5);
  std::vector<float> after = before;
  const auto done = TileAugmenter(o).apply(after.data(), count, kShape,
                                           std::vector<std::uint32_t>(count, 0), streams(count, 8));
  const std::size_t n = kShape.floats();
  bool up = false, down = false;
  for (std::size_t v = 0; v < count; ++v) {
    const double g = done[v].gain_db;
    EXPECT_LE(std::abs(g), o.gain_db);
    up = up || g > 1;
    down = down || g < -1;
    const double factor = std::pow(10.0, g / 20.0);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_NEAR(linear(after[v * n + i]), factor * linear(before[v * n + i]),
                  1e-5 * (1 + linear(before[v * n + i])));
    }
  }
  EXPECT_TRUE(up && down) << "gains of both signs are drawn";
}

TEST(TileAugmenterTest, MasksSetTheirBandToTheChannelMeanAndLeaveTheRest) {
  AugmentOptions o;
  o.time_mask_probability = 1;
  o.time_mask_fraction = 0.25;
  o.freq_mask_probability = 1;
  o.freq_mask_fraction = 0.5;
  const std::size_t count = 16;
  const std::vector<float> before = make_views(count, kShape, 9);
  std::vector<float> after = before;
  const auto done = TileAugmenter(o).apply(after.data(), count, kShape,
                                           std::vector<std::uint32_t>(count, 0), streams(count, 4));
  const std::size_t n = kShape.floats(), plane = std::size_t(kShape.frames) * kShape.bins;
  int masked_views = 0;
  for (std::size_t v = 0; v < count; ++v) {
    const ViewAugmentation& d = done[v];
    EXPECT_LE(d.time_mask_width, 5);  // 0.25 x 20 frames
    EXPECT_LE(d.freq_mask_width, 8);  // 0.5 x 16 bins
    EXPECT_LE(d.time_mask_begin + d.time_mask_width, kShape.frames);
    EXPECT_LE(d.freq_mask_begin + d.freq_mask_width, kShape.bins);
    masked_views += d.time_mask_width > 0 && d.freq_mask_width > 0;
    for (int c = 0; c < kShape.channels; ++c) {
      const float* b = before.data() + v * n + c * plane;
      const float* a = after.data() + v * n + c * plane;
      // The time mask fills with the channel's mean before any mask; the
      // frequency mask with the mean after the time mask.
      double sum = 0;
      for (std::size_t i = 0; i < plane; ++i) sum += b[i];
      const float mean_before = float(sum / plane);
      for (int t = 0; t < kShape.frames; ++t) {
        for (int f = 0; f < kShape.bins; ++f) {
          const bool in_t = t >= d.time_mask_begin && t < d.time_mask_begin + d.time_mask_width;
          const bool in_f = f >= d.freq_mask_begin && f < d.freq_mask_begin + d.freq_mask_width;
          const float got = a[t * kShape.bins + f];
          if (!in_t && !in_f) {
            ASSERT_EQ(got, b[t * kShape.bins + f]) << "outside both masks";
          } else if (in_t && !in_f) {
            ASSERT_FLOAT_EQ(got, mean_before);
          } else if (in_f) {
            // One value across the whole frequency band.
            ASSERT_EQ(got, a[d.freq_mask_begin]);
          }
        }
      }
    }
  }
  EXPECT_GT(masked_views, 8) << "most views get both masks";
}

TEST(TileAugmenterTest, TheSameStreamsGiveTheSameViewsAndOffLeavesThemAlone) {
  AugmentOptions o;
  o.mixback_probability = 0.5;
  o.gain_probability = 0.5;
  o.time_mask_probability = 0.5;
  o.freq_mask_probability = 0.5;
  const std::size_t count = 9;
  std::vector<std::uint32_t> recs = {0, 1, 2, 0, 1, 2, 3, 4, 5};
  const std::vector<float> base = make_views(count, kShape, 11);
  std::vector<float> a = base, b = base, c = base;
  TileAugmenter(o).apply(a.data(), count, kShape, recs, streams(count, 6));
  TileAugmenter(o).apply(b.data(), count, kShape, recs, streams(count, 6));
  TileAugmenter(o).apply(c.data(), count, kShape, recs, streams(count, 7));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, base);
  std::vector<float> off = base;
  TileAugmenter(AugmentOptions{}).apply(off.data(), count, kShape, recs, streams(count, 6));
  EXPECT_EQ(off, base);
}

TEST(TileAugmenterTest, RejectsOptionsOutsideTheirRanges) {
  AugmentOptions o;
  o.mixback_probability = 1.5;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o = {};
  o.mixback_db_min = -5;
  o.mixback_db_max = -10;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o = {};
  o.mixback_db_max = 3;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o = {};
  o.time_mask_fraction = 2;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o = {};
  o.gain_db = -1;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  EXPECT_NO_THROW(AugmentOptions{}.validate());
  EXPECT_THROW(TileAugmenter(AugmentOptions{}).apply(nullptr, 2, kShape, {0}, streams(2, 1)),
               std::invalid_argument);
}

}  // namespace
}  // namespace tessera::augment
