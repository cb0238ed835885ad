// End-to-end tests of synth, dataset-info and cache build.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>

#include "test_util.h"

namespace tessera {
namespace {

using namespace tessera::testing;

TEST(CliDataTest, SynthDatasetInfoAndCacheBuild) {
  const std::string dir = fresh_dir();
  auto s = run_tessera("synth --output " + dir +
                       "/data --layout dcase --clips-per-class 2 --classes 9 --seed 3");
  ASSERT_EQ(s.exit_code, 0) << s.output;
  EXPECT_NE(s.output.find("wrote 18 clips of 9 classes"), std::string::npos) << s.output;
  // One listed file goes missing: it is reported, not fatal.
  std::filesystem::remove(dir + "/data/audio/synth_s000_00.wav");
  const std::string cfg = std::string(TESSERA_SOURCE_DIR) +
                          "/configs/margin_experiment_dcase.json --set dcase_dataset_path=" + dir +
                          "/data";
  auto info = run_tessera("dataset-info -c " + cfg);
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("train: 8 files, 1:20"), std::string::npos) << info.output;
  // Every count agrees with its noun (one label has a single file here).
  const std::regex count(R"((\d+) (files?)\b)");
  int singular = 0;
  for (auto m = std::sregex_iterator(info.output.begin(), info.output.end(), count);
       m != std::sregex_iterator(); ++m) {
    const bool one = (*m)[1] == "1";
    EXPECT_EQ((*m)[2] == "file", one) << (*m)[0] << " in\n" << info.output;
    singular += one;
  }
  EXPECT_GT(singular, 0) << info.output;
  EXPECT_NE(info.output.find("1 file skipped: audio/synth_s000_00.wav"), std::string::npos)
      << info.output;
  auto c1 = run_tessera("cache build -c " + cfg + " --cache-dir " + dir + "/cache");
  ASSERT_EQ(c1.exit_code, 0) << c1.output;
  EXPECT_NE(c1.output.find("17 recordings ready (17 computed, 0 already cached)"),
            std::string::npos)
      << c1.output;
  // What a kill -9 mid-write leaves: a dead process's temporary goes when the
  // next command writes there; a live process's (this test's) stays.
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);
  const std::string orphan = dir + "/cache/x.feat.tmp." + std::to_string(gone) + ".0";
  const std::string live = dir + "/cache/y.feat.tmp." + std::to_string(::getpid()) + ".0";
  write_text(orphan, "half");
  write_text(live, "half");
  auto c2 = run_tessera("cache build -c " + cfg + " --cache-dir " + dir + "/cache");
  EXPECT_FALSE(std::filesystem::exists(orphan)) << c2.output;
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_NE(c2.output.find("removed 1 temporary file left in"), std::string::npos) << c2.output;
  EXPECT_NE(c2.output.find("(0 computed, 17 already cached)"), std::string::npos) << c2.output;
}

TEST(CliDataTest, MusicLayoutInfoListsTheGenres) {
  const std::string dir = fresh_dir();
  ASSERT_EQ(
      run_tessera("synth --output " + dir + "/music --layout music --classes 3 --clips-per-class 5")
          .exit_code,
      0);
  auto info = run_tessera("dataset-info -c " + std::string(TESSERA_SOURCE_DIR) +
                          "/configs/margin_experiment_music.json --set music_dataset_path=" + dir +
                          "/music");
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("dataset MusicDataset: 3 labels"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("classical"), std::string::npos);
}

TEST(CliDataTest, UnknownLabelFailsNamingLine) {
  const std::string dir = fresh_dir();
  ASSERT_EQ(run_tessera("synth --output " + dir + "/data --clips-per-class 2").exit_code, 0);
  write_text(dir + "/data/evaluation_setup/fold1_evaluate.txt",
             "audio/synth_s000_00.wav\tabsence\naudio/synth_s000_01.wav\tbarking\n");
  auto r = run_tessera("dataset-info -c " + std::string(TESSERA_SOURCE_DIR) +
                       "/configs/margin_experiment_dcase.json --set dcase_dataset_path=" + dir +
                       "/data");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("fold1_evaluate.txt' line 2: unknown label 'barking'"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace tessera
