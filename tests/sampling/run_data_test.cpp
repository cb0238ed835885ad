// A run's data on its own: which recordings each split's tile store holds
// for a labelled set and for an unlabelled folder with a labelled set beside
// it. The expected counts come from the split files and the folder written
// here.
#include "tessera/sampling/run_data.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>

#include "test_util.h"

namespace tessera::sampling {
namespace {

std::size_t lines_of(const std::string& path) {
  std::ifstream f(path);
  std::size_t n = 0;
  for (std::string line; std::getline(f, line);) n += !line.empty();
  return n;
}

// A mono 16 kHz tone of `seconds` at `path`.
void write_tone(const std::string& path, double seconds, double hz) {
  testing::write_mono_wav(path, testing::sine(hz, 0.3, 16000, std::size_t(seconds * 16000)));
}

// The shared synthetic set (DCASE layout, 10 s clips) with the study's
// audio, features and 2 s tiles, cached in the run's folder.
RunDataOptions shared_set(const std::string& run) {
  RunDataOptions o;
  o.labelled.dcase.root = testing::shared_synth_dataset(4);
  o.cache_dir = run + "/cache";
  return o;
}

// An unlabelled folder beside it, loaded whole.
RunDataOptions with_folder(RunDataOptions o, const std::string& folder) {
  o.unlabelled_folder = folder;
  o.unlabelled_audio.fixed_length_s = 0;
  return o;
}

// The shared synthetic set's split files list 10 s clips, each long enough
// for the 2 s tiles: every listed clip is in its store, nothing is skipped.
TEST(RunDataTest, LabelledSetLoadsEveryListedClipIntoItsSplit) {
  const std::string run = testing::fresh_dir("run_data_labelled");
  const RunDataOptions o = shared_set(run);
  const RunData d = RunData::load(o, 2, /*with_test=*/true);
  const std::string setup = o.labelled.dcase.root + "/evaluation_setup/";
  EXPECT_EQ(d.train->size(), lines_of(setup + "fold1_train.txt"));
  EXPECT_EQ(d.eval->size(), lines_of(setup + "fold1_evaluate.txt"));
  // The DCASE layout's test split is its separate evaluation set
  // (DcaseOptions::eval_root), which these options do not name.
  ASSERT_NE(d.test, nullptr);
  EXPECT_EQ(d.test->size(), 0u);
  EXPECT_EQ(d.dataset.skipped.count(), 0u);
  EXPECT_EQ(d.labelled_train, nullptr);
  EXPECT_EQ(&d.probe_train(), d.train.get());
  EXPECT_TRUE(std::filesystem::exists(run + "/cache"));
}

// An unlabelled folder trains: its recordings of two tiles or more, whatever
// their length; a 3 s one (one tile) is skipped and counted, a text file is
// left out. The labelled set's train split trains the probes; its eval split
// evaluates.
TEST(RunDataTest, FolderRunTrainsOnTheFolderAndProbesOnTheLabelledTrainSplit) {
  const std::string run = testing::fresh_dir("run_data_folder");
  const std::string pool = run + "/pool";
  std::filesystem::create_directories(pool + "/nested");
  write_tone(pool + "/long.wav", 23.0, 440);
  write_tone(pool + "/nested/four_seconds.wav", 4.0, 660);
  write_tone(pool + "/three_seconds.wav", 3.0, 880);
  testing::write_text(pool + "/notes.txt", "not audio\n");
  const RunDataOptions o = with_folder(shared_set(run), pool);
  const RunData d = RunData::load(o, 2);
  ASSERT_EQ(d.train->size(), 2u);
  std::set<std::string> names;
  for (const auto& r : d.train->recordings())
    names.insert(std::filesystem::path(r.path).filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"long.wav", "four_seconds.wav"}));
  for (std::size_t i = 0; i < d.train->size(); ++i) {
    const bool is_long = std::filesystem::path(d.train->recording(i).path).filename() == "long.wav";
    EXPECT_EQ(d.train->tiles(i), is_long ? 11 : 2) << d.train->recording(i).path;
  }
  ASSERT_EQ(d.dataset.skipped.count(), 1u);
  EXPECT_NE(d.dataset.skipped.entries[0].find("three_seconds.wav"), std::string::npos)
      << d.dataset.skipped.entries[0];
  const std::string setup = o.labelled.dcase.root + "/evaluation_setup/";
  ASSERT_NE(d.labelled_train, nullptr);
  EXPECT_EQ(d.labelled_train->size(), lines_of(setup + "fold1_train.txt"));
  EXPECT_EQ(&d.probe_train(), d.labelled_train.get());
  EXPECT_EQ(d.eval->size(), lines_of(setup + "fold1_evaluate.txt"));
}

TEST(RunDataTest, FewerThanTwoUsableTrainingRecordingsFailsWithTheReasons) {
  const std::string run = testing::fresh_dir("run_data_too_few");
  std::filesystem::create_directories(run + "/pool");
  write_tone(run + "/pool/only.wav", 6.0, 440);
  write_tone(run + "/pool/short.wav", 1.0, 440);
  try {
    RunData::load(with_folder(shared_set(run), run + "/pool"), 2);
    FAIL() << "expected a runtime_error";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("fewer than two usable training recordings"), std::string::npos) << what;
    EXPECT_NE(what.find("short.wav"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace tessera::sampling
