// A run's data on its own: where its cache lives, how many feature threads a
// command gets, and which recordings each split's tile store holds for a
// labelled set and for an unlabelled folder with a labelled set beside it.
// The expected counts come from the split files and the folder written here.
#include "tessera/train/run_data.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>

#include "test_util.h"

namespace tessera::train {
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

TEST(RunDataTest, CacheDirIsTheConfigsElseTheRunsOwn) {
  common::Config c;
  c.cache_dir = "";
  EXPECT_EQ(resolve_cache_dir(c, "/runs/a"), "/runs/a/cache");
  c.cache_dir = "/shared/cache";
  EXPECT_EQ(resolve_cache_dir(c, "/runs/a"), "/shared/cache");
}

TEST(RunDataTest, FeatureThreadsAreTwiceTheComputeThreadsAtMostTheParallelCalls) {
  common::Config c;
  c.num_parallel_calls = 3;
  EXPECT_EQ(feature_threads(c, 1), 2);
  EXPECT_EQ(feature_threads(c, 4), 3);
}

TEST(RunDataTest, LabelledConfigOfAFolderRunIsItsEvalDatasetAndOtherwiseTheConfig) {
  common::Config c;
  c.dataset = "FolderDataset";
  c.eval_dataset = "DCASEDataset";
  c.unlabelled_dataset_path = "/recordings";
  c.batch_size = 7;
  const common::Config l = labelled_config(c);
  EXPECT_EQ(l.dataset, "DCASEDataset");
  EXPECT_EQ(l.unlabelled_dataset_path, "/recordings");
  EXPECT_EQ(l.batch_size, 7);
  common::Config d;
  d.dataset = "DCASEDataset";
  EXPECT_EQ(labelled_config(d).dataset, "DCASEDataset");
}

// The shared synthetic set's split files list 10 s clips, each long enough
// for the 2 s tiles: every listed clip is in its store, nothing is skipped.
TEST(RunDataTest, LabelledSetLoadsEveryListedClipIntoItsSplit) {
  const common::Config c = testing::demo_config_on_shared_data(1);
  const std::string run = testing::fresh_dir("run_data_labelled");
  const RunData d = RunData::load(c, run, 2, /*with_test=*/true);
  const std::string setup = c.dcase_dataset_path + "/evaluation_setup/";
  EXPECT_EQ(d.train->size(), lines_of(setup + "fold1_train.txt"));
  EXPECT_EQ(d.eval->size(), lines_of(setup + "fold1_evaluate.txt"));
  // The DCASE layout's test split is its separate evaluation set
  // (dcase_eval_dataset_path), which this config does not name.
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
  common::Config c = testing::demo_config_on_shared_data(1);
  const std::string run = testing::fresh_dir("run_data_folder");
  const std::string pool = run + "/pool";
  std::filesystem::create_directories(pool + "/nested");
  write_tone(pool + "/long.wav", 23.0, 440);
  write_tone(pool + "/nested/four_seconds.wav", 4.0, 660);
  write_tone(pool + "/three_seconds.wav", 3.0, 880);
  testing::write_text(pool + "/notes.txt", "not audio\n");
  c.dataset = "FolderDataset";
  c.eval_dataset = "DCASEDataset";
  c.unlabelled_dataset_path = pool;
  const RunData d = RunData::load(c, run, 2);
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
  const std::string setup = c.dcase_dataset_path + "/evaluation_setup/";
  ASSERT_NE(d.labelled_train, nullptr);
  EXPECT_EQ(d.labelled_train->size(), lines_of(setup + "fold1_train.txt"));
  EXPECT_EQ(&d.probe_train(), d.labelled_train.get());
  EXPECT_EQ(d.eval->size(), lines_of(setup + "fold1_evaluate.txt"));
}

TEST(RunDataTest, FewerThanTwoUsableTrainingRecordingsFailsWithTheReasons) {
  common::Config c = testing::demo_config_on_shared_data(1);
  const std::string run = testing::fresh_dir("run_data_too_few");
  std::filesystem::create_directories(run + "/pool");
  write_tone(run + "/pool/only.wav", 6.0, 440);
  write_tone(run + "/pool/short.wav", 1.0, 440);
  c.dataset = "FolderDataset";
  c.eval_dataset = "DCASEDataset";
  c.unlabelled_dataset_path = run + "/pool";
  try {
    RunData::load(c, run, 2);
    FAIL() << "expected a runtime_error";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("fewer than two usable training recordings"), std::string::npos) << what;
    EXPECT_NE(what.find("short.wav"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace tessera::train
