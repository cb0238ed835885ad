// load_audio: decoding, then the mix to mono or the channel choice, the
// resampling to the configured rate, trimming and fitting the length.
#include "tessera/audio/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tessera/audio/encode.h"
#include "test_util.h"

namespace tessera::audio {
namespace {

using tessera::testing::fresh_dir;

// A DCASE-like 44.1 kHz 4-channel file and a 16 kHz mono file both load as
// 160000 mono samples (10 s at 16 kHz).
TEST(LoaderTest, RateAndChannelsAreNormalised) {
  const std::string dir = fresh_dir();
  AudioBuffer four;
  four.sample_rate_hz = 44100;
  four.channels = 4;
  four.samples.resize(4 * 44100 * 9);  // 9 s: padded to 10 s
  for (int c = 0; c < 4; ++c) {
    auto s = tessera::testing::sine(300 + 100 * c, 0.2, 44100, 44100 * 9);
    std::copy(s.begin(), s.end(), four.channel(c));
  }
  write_wav(dir + "/four.wav", four);
  AudioBuffer mono;
  mono.sample_rate_hz = 16000;
  mono.channels = 1;
  mono.samples = tessera::testing::sine(300, 0.2, 16000, 16000 * 11);  // cropped to 10 s
  write_wav(dir + "/mono.wav", mono);
  AudioOptions o;
  const AudioBuffer a = load_audio(dir + "/four.wav", o);
  const AudioBuffer b = load_audio(dir + "/mono.wav", o);
  EXPECT_EQ(a.channels, 1);
  EXPECT_EQ(a.sample_rate_hz, 16000);
  EXPECT_EQ(a.frames(), 160000u);
  EXPECT_EQ(b.frames(), 160000u);
  // The padded tail is exact zeros.
  EXPECT_EQ(a.samples[159999], 0.0f);
  o.to_mono = false;
  const AudioBuffer c = load_audio(dir + "/four.wav", o);
  EXPECT_EQ(c.channels, 4);
  EXPECT_EQ(c.frames(), 160000u);
}

// The mono mix is the mean over the real channels.
TEST(LoaderTest, MonoIsTheChannelMean) {
  AudioBuffer a;
  a.sample_rate_hz = 16000;
  a.channels = 2;
  a.samples = {0.2f, 0.4f, 0.6f, 0.0f};
  AudioOptions o;
  o.fixed_length_s = 0;
  const AudioBuffer m = prepare_audio(a, o);
  ASSERT_EQ(m.frames(), 2u);
  EXPECT_FLOAT_EQ(m.samples[0], 0.4f);
  EXPECT_FLOAT_EQ(m.samples[1], 0.2f);
}

// Found by fuzz_audio (tests/fuzz/regressions/audio): a few frames at a high
// rate resample to zero frames; that must give an empty buffer, not a crash.
TEST(LoaderTest, ResamplingToZeroFramesIsEmpty) {
  AudioBuffer a;
  a.sample_rate_hz = 532288;
  a.channels = 1;
  a.samples.assign(11, 0.5f);
  AudioOptions o;
  o.fixed_length_s = 0;
  EXPECT_EQ(prepare_audio(a, o).frames(), 0u);
  o.fixed_length_s = 1.0;
  EXPECT_EQ(prepare_audio(a, o).frames(), 16000u);
}

// soxr keeps a 1 kHz tone at 1 kHz: count zero crossings after 48k -> 16k.
TEST(LoaderTest, ResamplingKeepsPitch) {
  AudioBuffer a;
  a.sample_rate_hz = 48000;
  a.channels = 1;
  a.samples = tessera::testing::sine(1000, 0.5, 48000, 48000);
  AudioOptions o;
  o.fixed_length_s = 0;
  const AudioBuffer r = prepare_audio(a, o);
  ASSERT_EQ(r.frames(), 16000u);
  int crossings = 0;
  for (std::size_t i = 1000; i < 15000; ++i) {
    if ((r.samples[i - 1] < 0) != (r.samples[i] < 0)) ++crossings;
  }
  // 14000 samples = 0.875 s of a 1 kHz tone: 1750 crossings.
  EXPECT_NEAR(crossings, 1750, 2);
}

}  // namespace
}  // namespace tessera::audio
