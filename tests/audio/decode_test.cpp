#include "tessera/audio/decode.h"

#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "tessera/audio/encode.h"
#include "test_util.h"

namespace tessera::audio {
namespace {

using tessera::testing::fresh_dir;

// Writes raw int16 samples with libsndfile so the expected decode is known.
void write_pcm16(const std::string& path, const std::vector<short>& interleaved, int channels,
                 int rate) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr);
  sf_writef_short(f, interleaved.data(), interleaved.size() / channels);
  sf_close(f);
}

std::string error_of(const std::string& path) {
  try {
    decode_file(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// tf.audio.decode_wav maps int16 s to s / 32768.
TEST(DecodeTest, Int16ScalesLikeTensorflow) {
  const std::string dir = fresh_dir();
  write_pcm16(dir + "/a.wav", {0, 16384, -32768, 32767, 1}, 1, 16000);
  const AudioBuffer a = decode_file(dir + "/a.wav");
  ASSERT_EQ(a.frames(), 5u);
  EXPECT_EQ(a.samples[0], 0.0f);
  EXPECT_EQ(a.samples[1], 0.5f);
  EXPECT_EQ(a.samples[2], -1.0f);
  EXPECT_EQ(a.samples[3], 32767.0f / 32768.0f);
  EXPECT_EQ(a.samples[4], 1.0f / 32768.0f);
}

TEST(DecodeTest, ChannelsBecomePlanar) {
  const std::string dir = fresh_dir();
  write_pcm16(dir + "/a.wav", {1, 2, 3, 4, 5, 6}, 2, 8000);
  const AudioBuffer a = decode_file(dir + "/a.wav");
  ASSERT_EQ(a.channels, 2);
  ASSERT_EQ(a.frames(), 3u);
  EXPECT_EQ(a.channel(0)[1] * 32768, 3.0f);
  EXPECT_EQ(a.channel(1)[2] * 32768, 6.0f);
}

TEST(DecodeTest, FloatAndFlacDecode) {
  const std::string dir = fresh_dir();
  AudioBuffer a;
  a.sample_rate_hz = 16000;
  a.channels = 1;
  a.samples = tessera::testing::sine(440, 0.5, 16000, 1600);
  write_wav(dir + "/f.wav", a, SampleFormat::kFloat32);
  const AudioBuffer f = decode_file(dir + "/f.wav");
  EXPECT_EQ(f.samples, a.samples);  // float32 WAV is lossless

  SF_INFO info{};
  info.samplerate = 16000;
  info.channels = 1;
  info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  SNDFILE* s = sf_open((dir + "/a.flac").c_str(), SFM_WRITE, &info);
  ASSERT_NE(s, nullptr);
  sf_writef_float(s, a.samples.data(), a.samples.size());
  sf_close(s);
  const AudioBuffer fl = decode_file(dir + "/a.flac");
  ASSERT_EQ(fl.frames(), a.frames());
  for (std::size_t i = 0; i < a.frames(); ++i)
    EXPECT_NEAR(fl.samples[i], a.samples[i], 1.0 / 32768);
}

// 24- and 32-bit PCM scale by 1/2^(bits-1); OGG Vorbis is lossy but close.
TEST(DecodeTest, Pcm24Pcm32AndOggDecode) {
  const std::string dir = fresh_dir();
  const auto x = tessera::testing::sine(440, 0.5, 16000, 4000);
  struct Case {
    const char* name;
    int format;
    double tolerance;
  };
  for (const Case& c : {Case{"a24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 1.0 / (1 << 23)},
                        Case{"a32.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 1e-7},
                        Case{"a.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 0.05}}) {
    SF_INFO info{};
    info.samplerate = 16000;
    info.channels = 1;
    info.format = c.format;
    SNDFILE* f = sf_open((dir + "/" + c.name).c_str(), SFM_WRITE, &info);
    ASSERT_NE(f, nullptr) << c.name << ": " << sf_strerror(nullptr);
    sf_writef_float(f, x.data(), sf_count_t(x.size()));
    sf_close(f);
    const AudioBuffer a = decode_file(dir + "/" + c.name);
    ASSERT_EQ(a.frames(), x.size()) << c.name;
    double worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
      worst = std::max(worst, double(std::fabs(a.samples[i] - x[i])));
    EXPECT_LE(worst, c.tolerance) << c.name;
  }
}

TEST(DecodeTest, MissingFileIsNamed) {
  const std::string e = error_of("/nonexistent/x.wav");
  EXPECT_NE(e.find("'/nonexistent/x.wav'"), std::string::npos) << e;
  EXPECT_NE(e.find("No such file"), std::string::npos) << e;
}

TEST(DecodeTest, DirectoryIsRejected) {
  const std::string dir = fresh_dir();
  EXPECT_NE(error_of(dir).find("is a directory"), std::string::npos);
}

TEST(DecodeTest, EmptyFileIsRejected) {
  const std::string dir = fresh_dir();
  tessera::testing::write_text(dir + "/e.wav", "");
  EXPECT_NE(error_of(dir + "/e.wav").find("empty"), std::string::npos);
}

TEST(DecodeTest, TextFileIsNotAudio) {
  const std::string dir = fresh_dir();
  tessera::testing::write_text(dir + "/t.wav", "this is not a wav file at all, just text\n");
  EXPECT_NE(error_of(dir + "/t.wav").find("not a readable audio file"), std::string::npos);
}

TEST(DecodeTest, ZeroSamplesIsRejected) {
  const std::string dir = fresh_dir();
  write_pcm16(dir + "/z.wav", {}, 1, 16000);
  EXPECT_NE(error_of(dir + "/z.wav").find("zero samples"), std::string::npos);
}

// Cut the data chunk short: the header still claims the full length.
TEST(DecodeTest, TruncatedWavIsRejected) {
  const std::string dir = fresh_dir();
  write_pcm16(dir + "/t.wav", std::vector<short>(16000, 100), 1, 16000);
  std::filesystem::resize_file(dir + "/t.wav", 44 + 8000);
  const std::string e = error_of(dir + "/t.wav");
  EXPECT_FALSE(e.empty()) << "a truncated file decoded without error";
  EXPECT_NE(e.find("t.wav"), std::string::npos) << e;
}

TEST(DecodeTest, NanSamplesAreRejected) {
  const std::string dir = fresh_dir();
  AudioBuffer a;
  a.sample_rate_hz = 16000;
  a.channels = 1;
  a.samples = {0.1f, std::numeric_limits<float>::quiet_NaN(), 0.2f};
  write_wav(dir + "/n.wav", a, SampleFormat::kFloat32);
  EXPECT_NE(error_of(dir + "/n.wav").find("NaN or Inf"), std::string::npos);
}

}  // namespace
}  // namespace tessera::audio
