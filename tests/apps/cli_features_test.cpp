// End-to-end tests of `tessera features`, asserting on the files it writes.
#include <gtest/gtest.h>

#include <cstring>

#include "tessera/audio/encode.h"
#include "tessera/common/npy.h"
#include "test_util.h"

namespace tessera {
namespace {

using tessera::testing::fresh_dir;
using tessera::testing::run_tessera;

std::string write_clip(const std::string& dir, int rate, int channels, double seconds) {
  audio::AudioBuffer a;
  a.sample_rate_hz = rate;
  a.channels = channels;
  const std::size_t n = std::size_t(rate * seconds);
  a.samples.resize(n * channels);
  for (int c = 0; c < channels; ++c) {
    auto s = tessera::testing::sine(500 + 200 * c, 0.3, rate, n);
    std::copy(s.begin(), s.end(), a.channel(c));
  }
  const std::string path =
      dir + "/clip_" + std::to_string(rate) + "_" + std::to_string(channels) + ".wav";
  audio::write_wav(path, a);
  return path;
}

TEST(CliFeaturesTest, WritesClipFeaturesAsNpy) {
  const std::string dir = fresh_dir();
  const std::string in = write_clip(dir, 16000, 1, 10.0);
  auto r = run_tessera("features --input " + in + " --output " + dir + "/f.npy");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto a = common::read_npy(dir + "/f.npy");
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{998, 128}));
  auto m = run_tessera("features --kind mfcc --input " + in + " --output " + dir + "/m.npy");
  ASSERT_EQ(m.exit_code, 0) << m.output;
  EXPECT_EQ(common::read_npy(dir + "/m.npy").shape, (std::vector<std::size_t>{998, 13}));
}

TEST(CliFeaturesTest, TileEqualsSliceOfClip) {
  const std::string dir = fresh_dir();
  const std::string in = write_clip(dir, 16000, 1, 10.0);
  ASSERT_EQ(run_tessera("features -i " + in + " -o " + dir + "/f.npy").exit_code, 0);
  auto r =
      run_tessera("features -i " + in + " -o " + dir + "/t.npy --tile-start 4 --tile-seconds 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto whole = common::read_npy(dir + "/f.npy");
  const auto tile = common::read_npy(dir + "/t.npy");
  ASSERT_EQ(tile.shape, (std::vector<std::size_t>{198, 128}));
  // 4 s = 64000 samples = frame 400.
  EXPECT_EQ(std::memcmp(tile.data.data(), whole.data.data() + 400 * 128, tile.data.size() * 4), 0);
}

TEST(CliFeaturesTest, FourChannel44kMatchesMonoShapeAndKeepsChannels) {
  const std::string dir = fresh_dir();
  const std::string in = write_clip(dir, 44100, 4, 10.0);
  ASSERT_EQ(run_tessera("features -i " + in + " -o " + dir + "/f.npy").exit_code, 0);
  EXPECT_EQ(common::read_npy(dir + "/f.npy").shape, (std::vector<std::size_t>{998, 128}));
  auto r = run_tessera("features -i " + in + " -o " + dir + "/c.npy --set to_mono=0");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(common::read_npy(dir + "/c.npy").shape, (std::vector<std::size_t>{4, 998, 128}));
}

TEST(CliFeaturesTest, BadInputsFailNamingTheFile) {
  const std::string dir = fresh_dir();
  tessera::testing::write_text(dir + "/text.wav", "not audio");
  tessera::testing::write_text(dir + "/empty.wav", "");
  struct Case {
    std::string input, reason;
  };
  for (const Case& c :
       {Case{dir + "/text.wav", "not a readable audio file"}, Case{dir + "/empty.wav", "empty"},
        Case{dir + "/missing.wav", "No such file"}, Case{dir, "is a directory"}}) {
    auto r = run_tessera("features -i " + c.input + " -o " + dir + "/out.npy");
    EXPECT_NE(r.exit_code, 0) << c.input;
    EXPECT_NE(r.output.find("error: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(c.input), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(c.reason), std::string::npos) << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/out.npy"));
}

// A file in a directory its reader may not enter: the error names the file
// and the reason. Root reads everything, so as root the command runs as
// `nobody` (setpriv, util-linux) instead.
TEST(CliFeaturesTest, UnreadableDirectoryFails) {
  std::string as_user;
  if (::geteuid() == 0) {
    if (!std::filesystem::exists("/usr/bin/setpriv"))
      GTEST_SKIP() << "root without setpriv: permissions cannot make a file unreadable";
    as_user = "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups ";
  }
  const std::string dir = fresh_dir();
  const std::string in = write_clip(dir, 16000, 1, 1.0);
  std::filesystem::create_directories(dir + "/locked");
  std::filesystem::rename(in, dir + "/locked/a.wav");
  std::filesystem::permissions(dir + "/locked", std::filesystem::perms::none);
  // The output goes where anyone may write, so that only the input fails.
  std::filesystem::create_directories(dir + "/out");
  std::filesystem::permissions(dir + "/out", std::filesystem::perms::all);
  auto r = tessera::testing::run_command(as_user + TESSERA_BINARY + " features -i " + dir +
                                         "/locked/a.wav -o " + dir + "/out/o.npy");
  std::filesystem::permissions(dir + "/locked", std::filesystem::perms::owner_all);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(dir + "/locked/a.wav"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Permission denied"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/out/o.npy"));
}

TEST(CliFeaturesTest, BadConfigFailsNamingTheKey) {
  const std::string dir = fresh_dir();
  const std::string in = write_clip(dir, 16000, 1, 1.0);
  auto r = run_tessera("features -i " + in + " -o " + dir + "/o.npy --set frame_length=2000");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("frame_length (2000) must not exceed fft_size (1024)"), std::string::npos)
      << r.output;
  auto u = run_tessera("features -i " + in + " -o " + dir + "/o.npy --set bogus=1");
  EXPECT_NE(u.exit_code, 0);
  EXPECT_NE(u.output.find("bogus"), std::string::npos);
}

TEST(CliFeaturesTest, TooShortClipFails) {
  const std::string dir = fresh_dir();
  const std::string in = write_clip(dir, 16000, 1, 0.01);
  auto r = run_tessera("features -i " + in + " -o " + dir + "/o.npy --set dataset=MusicDataset");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("shorter than one frame"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tessera
