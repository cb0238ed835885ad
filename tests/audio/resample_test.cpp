// resample (soxr, high quality): what the loader relies on when a file's
// rate differs from the config's. Expected values: an ideal sine at the new
// rate, the output length in->frames x ratio, and silence where a tone lies
// above the new Nyquist frequency (an anti-aliasing filter must remove it;
// dropping or interpolating samples would fold it back into the band).
#include "tessera/audio/resample.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace tessera::audio {
namespace {

AudioBuffer mono(std::vector<float> x, int rate) {
  AudioBuffer b;
  b.sample_rate_hz = rate;
  b.channels = 1;
  b.samples = std::move(x);
  return b;
}

double rms(const float* x, std::size_t begin, std::size_t end) {
  double s = 0;
  for (std::size_t i = begin; i < end; ++i) s += double(x[i]) * x[i];
  return std::sqrt(s / double(end - begin));
}

TEST(ResampleTest, TheSameRateIsACopy) {
  const AudioBuffer in = mono(tessera::testing::sine(440, 0.5, 16000, 1000), 16000);
  const AudioBuffer out = resample(in, 16000);
  EXPECT_EQ(out.sample_rate_hz, 16000);
  EXPECT_EQ(out.samples, in.samples);
}

// A 1 kHz tone from 44.1 kHz to 16 kHz: the output is the same tone sampled
// at 16 kHz, in phase (soxr's one-shot call removes its filter delay), away
// from the edges where the filter sees zeros beyond the signal.
TEST(ResampleTest, AToneInTheBandKeepsItsShapeAndPhase) {
  const std::size_t n = 44100;
  const AudioBuffer out = resample(mono(tessera::testing::sine(1000, 0.5, 44100, n), 44100), 16000);
  ASSERT_EQ(out.frames(), 16000u);
  const std::vector<float> ideal = tessera::testing::sine(1000, 0.5, 16000, 16000);
  double worst = 0;
  for (std::size_t i = 800; i < 15200; ++i)
    worst = std::max(worst, std::abs(double(out.samples[i]) - ideal[i]));
  EXPECT_LT(worst, 1e-3);
}

// 10 kHz at 44.1 kHz lies above 16 kHz's Nyquist frequency (8 kHz). Taking
// every 2.76th sample would fold it to 6 kHz at full strength.
TEST(ResampleTest, AToneAboveTheNewNyquistIsRemoved) {
  const std::size_t n = 44100;
  const AudioBuffer out =
      resample(mono(tessera::testing::sine(10000, 0.5, 44100, n), 44100), 16000);
  ASSERT_EQ(out.frames(), 16000u);
  const double in_rms = 0.5 / std::sqrt(2.0);
  EXPECT_LT(rms(out.samples.data(), 800, 15200), 1e-3 * in_rms);
}

TEST(ResampleTest, ChannelsStaySeparate) {
  AudioBuffer in;
  in.sample_rate_hz = 22050;
  in.channels = 2;
  const std::vector<float> tone = tessera::testing::sine(500, 0.5, 22050, 22050);
  in.samples = tone;
  in.samples.resize(2 * tone.size(), 0.0f);  // channel 1 silent
  const AudioBuffer out = resample(in, 16000);
  EXPECT_EQ(out.channels, 2);
  ASSERT_EQ(out.frames(), 16000u);
  EXPECT_NEAR(rms(out.channel(0), 800, 15200), 0.5 / std::sqrt(2.0), 1e-3);
  EXPECT_EQ(rms(out.channel(1), 0, out.frames()), 0.0);
}

// Upsampling: the length scales with the ratio, rounded to the nearest frame.
TEST(ResampleTest, TheLengthFollowsTheRatio) {
  EXPECT_EQ(resample(mono(std::vector<float>(1001, 0.1f), 8000), 16000).frames(), 2002u);
  EXPECT_EQ(resample(mono(std::vector<float>(1000, 0.1f), 48000), 16000).frames(), 333u);
  EXPECT_EQ(resample(mono(std::vector<float>(1001, 0.1f), 48000), 16000).frames(), 334u);
}

TEST(ResampleTest, ARateThatIsNotPositiveIsRefused) {
  const AudioBuffer in = mono(std::vector<float>(100, 0.0f), 16000);
  EXPECT_THROW(resample(in, 0), std::invalid_argument);
  EXPECT_THROW(resample(mono(std::vector<float>(100, 0.0f), 0), 16000), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::audio
