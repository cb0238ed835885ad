#include "tessera/audio/trim.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tessera/audio/decode.h"
#include "tessera/common/atomic_file.h"

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

// librosa itself, not a derivation of it: tests/data/reference/trim.json
// holds the spans librosa 0.11's effects.trim returned on the WAVs beside it
// (scripts/make_reference_trim.py). Every frame there lies at least 0.05 dB
// from the threshold, far more than float32 samples can move a frame's
// level, so the span must be the same to the sample.
TEST(TrimTest, SpansEqualLibrosasOnItsOwnInputs) {
  const std::string dir = std::string(TESSERA_SOURCE_DIR) + "/tests/data/reference/";
  const auto index = nlohmann::json::parse(common::read_file(dir + "trim.json"));
  int checked = 0;
  for (const auto& [name, f] : index.at("files").items()) {
    const AudioBuffer a = decode_file(dir + "trim_" + name + ".wav");
    ASSERT_EQ(a.sample_rate_hz, f.at("sample_rate").get<int>()) << name;
    ASSERT_EQ(a.frames(), f.at("frames").get<std::size_t>()) << name;
    for (const auto& [top_db, span] : f.at("spans").items()) {
      TrimOptions o;
      o.top_db = std::stod(top_db);
      o.frame_length = index.at("frame_length").get<int>();
      o.hop_length = index.at("hop_length").get<int>();
      const auto [start, end] = nonsilent_span(a, o);
      EXPECT_EQ(start, span.at("start").get<std::size_t>()) << name << " top_db " << top_db;
      EXPECT_EQ(end, span.at("end").get<std::size_t>()) << name << " top_db " << top_db;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 6);
}

}  // namespace
}  // namespace tessera::audio
