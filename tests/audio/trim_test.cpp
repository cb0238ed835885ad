#include "tessera/audio/trim.h"

#include <gtest/gtest.h>

namespace tessera::audio {
namespace {

// Hand-derived from librosa.effects.trim's definition (top_db 60, frame 2048,
// hop 512, centred frames): frame f spans [512 f - 1024, 512 f + 1024). A
// tone on samples [4096, 8192) makes frames 7..17 non-silent (any overlap is
// only ~33 dB below the peak), so the kept span is [7*512, 18*512).
TEST(TrimTest, SpanFollowsLibrosaFraming) {
  AudioBuffer a;
  a.sample_rate_hz = 16000;
  a.channels = 1;
  a.samples.assign(16000, 0.0f);
  for (int i = 4096; i < 8192; ++i) a.samples[i] = (i % 2) ? 0.5f : -0.5f;
  const auto [start, end] = nonsilent_span(a, TrimOptions{});
  EXPECT_EQ(start, 3584u);
  EXPECT_EQ(end, 9216u);
  EXPECT_EQ(trim_silence(a, TrimOptions{}).frames(), 9216u - 3584u);
}

// librosa compares each frame with the loudest one: for digital silence the
// reference is 0 too, every frame is 0 dB, and nothing is trimmed.
TEST(TrimTest, DigitalSilenceIsKeptLikeLibrosa) {
  AudioBuffer a;
  a.sample_rate_hz = 16000;
  a.channels = 1;
  a.samples.assign(5000, 0.0f);
  EXPECT_EQ(trim_silence(a, TrimOptions{}).frames(), 5000u);
}

// Quiet noise 70 dB below the tone counts as silence at top_db 60 but not 80.
TEST(TrimTest, TopDbSetsTheThreshold) {
  AudioBuffer a;
  a.sample_rate_hz = 16000;
  a.channels = 1;
  a.samples.assign(20000, 0.0f);
  for (int i = 0; i < 20000; ++i) a.samples[i] = ((i % 2) ? 1.0f : -1.0f) * 0.5f * 3.1623e-4f;
  for (int i = 8192; i < 12288; ++i) a.samples[i] = (i % 2) ? 0.5f : -0.5f;
  TrimOptions o;
  // Frame 15 (spanning [6656, 8704)) is the first to reach the tone.
  EXPECT_EQ(nonsilent_span(a, o).first, 15u * 512u);
  o.top_db = 80;
  EXPECT_EQ(nonsilent_span(a, o).first, 0u);
}

}  // namespace
}  // namespace tessera::audio
