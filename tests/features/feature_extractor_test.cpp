#include "tessera/features/feature_extractor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>

#include "test_util.h"

namespace tessera::features {
namespace {

std::vector<float> noise(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.1f);
  std::vector<float> x(n);
  for (auto& v : x) v = d(rng);
  return x;
}

// tf.signal.stft(pad_end=False): 1 + (N - 480) / 160 frames, 0 below one frame.
TEST(FeatureExtractorTest, FrameCountFollowsTensorflow) {
  const FeatureOptions o;
  EXPECT_EQ(o.num_frames(32000), 198);   // a 2 s tile
  EXPECT_EQ(o.num_frames(160000), 998);  // a 10 s clip
  EXPECT_EQ(o.num_frames(479), 0);
  EXPECT_EQ(o.num_frames(480), 1);
  EXPECT_EQ(o.num_frames(639), 1);
  EXPECT_EQ(o.num_frames(640), 2);
}

// log(0 + 1e-6) = -13.8155106 in every bin, to within 2 float ulp.
TEST(FeatureExtractorTest, SilenceGivesLogFloor) {
  FeatureExtractor fx{FeatureOptions{}};
  std::vector<float> x(32000, 0.0f);
  const FeatureMatrix m = fx.compute(x.data(), x.size());
  ASSERT_EQ(m.frames, 198);
  ASSERT_EQ(m.bins, 128);
  for (float v : m.data) ASSERT_NEAR(v, std::log(1e-6), 2e-6);
  for (float v : m.data) ASSERT_EQ(v, m.data[0]);
}

// A 1 kHz sine peaks in the band whose centre (edges[b+1] of TF's
// linspace(mel(50), mel(8000), 130)) lies nearest 1 kHz.
TEST(FeatureExtractorTest, SinePeaksInItsMelBand) {
  FeatureExtractor fx{FeatureOptions{}};
  for (double hz : {440.0, 1000.0, 3000.0}) {
    const auto x = tessera::testing::sine(hz, 0.5, 16000, 32000);
    const FeatureMatrix m = fx.compute(x.data(), x.size());
    const float* row = m.frame(0, 100);
    const int peak = int(std::max_element(row, row + 128) - row);
    const double lo = hertz_to_mel(50), hi = hertz_to_mel(8000);
    int expected = 0;
    double best = 1e9;
    for (int b = 0; b < 128; ++b) {
      const double centre = mel_to_hertz(lo + (hi - lo) * (b + 1) / 129.0);
      if (std::fabs(centre - hz) < best) best = std::fabs(centre - hz), expected = b;
    }
    EXPECT_NEAR(peak, expected, 1) << hz << " Hz";
  }
}

// For x = A cos(2 pi 64 n / 1024) (1 kHz at 16 kHz, exactly bin 64), the
// windowed DFT peak is A/2 * sum(window) = A/2 * 240 for a periodic Hann of 480.
TEST(FeatureExtractorTest, StftPeakMatchesWindowSum) {
  FeatureExtractor fx{FeatureOptions{}};
  const auto& w = fx.window();
  double sum = 0;
  for (float v : w) sum += v;
  EXPECT_NEAR(sum, 240.0, 1e-3);
  EXPECT_EQ(w[0], 0.0f);  // periodic: w[0] = 0 and w[N/2] = 1
  EXPECT_NEAR(w[240], 1.0f, 1e-7);
  RealFft fft(1024);
  auto scratch = fft.make_scratch();
  std::vector<float> frame(1024, 0.0f), mag(513);
  for (int i = 0; i < 480; ++i) frame[i] = float(0.8 * std::cos(2 * M_PI * 64 * i / 1024.0)) * w[i];
  fft.magnitude(frame.data(), mag.data(), scratch);
  EXPECT_NEAR(mag[64], 0.8 / 2 * 240, 1e-3);
}

// TF's linear_to_mel_weight_matrix: the DC row is zero and every weight lies
// in [0, 1]; each interior bin's weights over its two bands sum to 1 (the
// triangles interleave).
TEST(FeatureExtractorTest, MelMatrixHasTensorflowShape) {
  MelFilterbank mel(128, 513, 16000, 50.0, 8000.0);
  const auto w = mel.dense();
  for (int b = 0; b < 128; ++b) EXPECT_EQ(w[b], 0.0f);
  const double lo = hertz_to_mel(50), hi = hertz_to_mel(8000);
  const double first_centre = mel_to_hertz(lo + (hi - lo) * 1 / 129.0);
  const double last_centre = mel_to_hertz(lo + (hi - lo) * 128 / 129.0);
  for (int k = 1; k < 513; ++k) {
    double s = 0;
    for (int b = 0; b < 128; ++b) {
      ASSERT_GE(w[k * 128 + b], 0.0f);
      ASSERT_LE(w[k * 128 + b], 1.0f);
      s += w[k * 128 + b];
    }
    const double hz = 8000.0 * k / 512;
    if (hz > first_centre && hz < last_centre) {
      EXPECT_NEAR(s, 1.0, 1e-5) << "bin " << k;
    }
  }
}

// TF's MFCC: dct-II (2 * sum) * rsqrt(2 * 128) makes c0 of a constant log-mel
// L equal to 16 L (scipy's orthonormal c0 would be sqrt(128) L = 11.31 L), and
// every higher coefficient 0.
TEST(FeatureExtractorTest, MfccUsesTensorflowDctScaling) {
  FeatureOptions o;
  o.kind = FeatureKind::kMfcc;
  FeatureExtractor fx(o);
  std::vector<float> x(4800, 0.0f);
  const FeatureMatrix m = fx.compute(x.data(), x.size());
  ASSERT_EQ(m.bins, 13);
  EXPECT_NEAR(m.data[0], 16.0 * std::log(1e-6), 1e-3);
  for (int k = 1; k < 13; ++k) EXPECT_NEAR(m.data[k], 0.0, 1e-3);
}

// The feature cache relies on this: a tile starting at a multiple of the
// frame step is a bit-exact slice of the whole clip's features.
TEST(FeatureExtractorTest, TileIsBitExactSliceOfClip) {
  FeatureExtractor fx{FeatureOptions{}};
  const auto x = noise(160000, 7);
  const FeatureMatrix whole = fx.compute(x.data(), x.size());
  for (int tile = 0; tile < 5; ++tile) {
    const std::size_t start = std::size_t(tile) * 32000;
    const FeatureMatrix t = fx.compute(x.data() + start, 32000);
    ASSERT_EQ(t.frames, 198);
    ASSERT_EQ(std::memcmp(t.data.data(), whole.frame(0, long(start / 160)),
                          t.data.size() * sizeof(float)),
              0)
        << "tile " << tile;
  }
}

TEST(FeatureExtractorTest, ThreadsShareOneExtractor) {
  FeatureExtractor fx{FeatureOptions{}};
  const auto x = noise(48000, 3);
  const FeatureMatrix ref = fx.compute(x.data(), x.size());
  std::vector<FeatureMatrix> got(4);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) ts.emplace_back([&, t] { got[t] = fx.compute(x.data(), x.size()); });
  for (auto& t : ts) t.join();
  for (const auto& g : got) EXPECT_EQ(g.data, ref.data);
}

TEST(FeatureExtractorTest, MultiChannelKeepsChannels) {
  FeatureExtractor fx{FeatureOptions{}};
  audio::AudioBuffer a;
  a.sample_rate_hz = 16000;
  a.channels = 4;
  a.samples = noise(4 * 32000, 5);
  const FeatureMatrix m = fx.compute(a);
  EXPECT_EQ(m.channels, 4);
  EXPECT_EQ(m.frames, 198);
  const FeatureMatrix c2 = fx.compute(a.channel(2), 32000);
  EXPECT_EQ(std::memcmp(c2.data.data(), m.frame(2, 0), c2.data.size() * sizeof(float)), 0);
}

TEST(FeatureExtractorTest, BadOptionsAreRejected) {
  FeatureOptions o;
  o.frame_length_samples = 2000;
  EXPECT_THROW(FeatureExtractor{o}, std::invalid_argument);
  o = FeatureOptions{};
  o.fft_size = 1000;
  EXPECT_THROW(FeatureExtractor{o}, std::invalid_argument);
}

}  // namespace
}  // namespace tessera::features
