// TensorBoard files of real `tessera train` runs, read by TensorBoard's own
// reader (EventAccumulator, tests/tensorboard/read_events.py, run with the
// Python environment scripts/setup.sh makes) and compared with the run's
// CSV metrics: every step and epoch, the centroid image, the config text
// and the projector; after a kill -9 and after a resume.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.h"

namespace tessera {
namespace {

using namespace tessera::testing;
namespace fs = std::filesystem;

std::vector<std::string> train_args(const std::string& run, int epochs) {
  return short_train_args(shared_synth_dataset(4), run, epochs);
}

int train(const std::string& run, int epochs, const std::vector<std::string>& extra = {}) {
  auto args = train_args(run, epochs);
  args.insert(args.end(), extra.begin(), extra.end());
  return wait_exit(spawn_tessera(args, run + ".log"));
}

CommandResult read_events(const std::string& run, const std::string& flags = "") {
  return run_command(std::string("'") + TESSERA_TORCH_PYTHON + "' '" + TESSERA_SOURCE_DIR +
                     "/tests/tensorboard/read_events.py' '" + run + "' " + flags);
}

std::vector<std::string> event_files(const std::string& run) {
  std::vector<std::string> out;
  const fs::path dir = fs::path(run) / "tensorboard";
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0)
      out.push_back(e.path().string());
  }
  return out;
}

TEST(CliTensorBoardTest, ReaderSeesEveryStepEpochImageAndTheProjector) {
  const std::string run = fresh_dir() + "/run";
  ASSERT_EQ(train(run, 2), 0) << read_text(run + ".log");
  EXPECT_EQ(event_files(run).size(), 1u);
  const CommandResult r = read_events(run);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* check : {"step tags match", "epoch tags match", "centroid images",
                            "config is a text summary", "projector lists 2 epochs"})
    EXPECT_NE(r.output.find(check), std::string::npos) << check << "\n" << r.output;
}

// A crash after an epoch's evaluation but before its checkpoint (the
// checkpoint removed here) makes the resumed run train that epoch again:
// the first process's events for those steps must not show twice.
TEST(CliTensorBoardTest, ResumedRunShowsNoStepTwice) {
  const std::string run = fresh_dir() + "/run";
  ASSERT_EQ(train(run, 2), 0) << read_text(run + ".log");
  ASSERT_TRUE(fs::remove(run + "/checkpoints/epoch_0002.pt"));
  ASSERT_EQ(train(run, 2, {"--resume"}), 0) << read_text(run + ".log");
  EXPECT_EQ(event_files(run).size(), 2u);
  const CommandResult r = read_events(run);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("no scalar tag repeats a step"), std::string::npos) << r.output;
}

// kill -9 while training: the file reads up to its last complete record,
// as a prefix of the steps the CSV has; a torn tail changes nothing before it.
TEST(CliTensorBoardTest, KilledRunLeavesAReadableFile) {
  const std::string run = fresh_dir() + "/run";
  const pid_t pid = spawn_tessera(train_args(run, 6), run + ".log");
  ASSERT_TRUE(wait_for_file(run + "/checkpoints/epoch_0001.pt", 120)) << read_text(run + ".log");
  ::kill(pid, SIGKILL);
  EXPECT_EQ(wait_exit(pid), 128 + SIGKILL) << "the run ended before the kill";
  const CommandResult r = read_events(run, "--partial --torn");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("torn last record"), std::string::npos) << r.output;
}

TEST(CliTensorBoardTest, NoTensorBoardWritesNoEventFiles) {
  const std::string run = fresh_dir() + "/run";
  ASSERT_EQ(train(run, 1, {"--no-tensorboard"}), 0) << read_text(run + ".log");
  EXPECT_FALSE(fs::exists(run + "/tensorboard"));
  EXPECT_TRUE(fs::exists(run + "/metrics/epochs.csv"));
}

}  // namespace
}  // namespace tessera
