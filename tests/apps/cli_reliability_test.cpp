// Faults that must not lose work: writes failing like a full disk (a
// file-size limit, RLIMIT_FSIZE, makes every write past it fail with EFBIG).
#include <gtest/gtest.h>

#include "tessera/common/csv_log.h"
#include "test_util.h"

namespace tessera {
namespace {

using namespace tessera::testing;

std::string train_cmd(const std::string& data, const std::string& run, int epochs) {
  return std::string("'") + TESSERA_BINARY + "' train -c " + TESSERA_SOURCE_DIR +
         "/configs/demo.json --set dcase_dataset_path=" + data +
         " --set epochs=" + std::to_string(epochs) +
         " --set batch_size=16 --set log_level=warning --threads 2 --run-dir " + run;
}

// Runs a shell command under `ulimit -f kb` (1024-byte blocks). Its output
// goes through a pipe, not run_command's log file, which the limit would
// cover too.
CommandResult run_limited(const std::string& cmd, int kb) {
  CommandResult r;
  const std::string full =
      "bash -c \"ulimit -f " + std::to_string(kb) + "; exec " + cmd + "\" 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) r.output += buf.data();
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return r;
}

int leftover_temporaries(const std::string& dir) {
  int n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().filename().string().find(".tmp.") != std::string::npos) ++n;
  }
  return n;
}

TEST(ReliabilityTest, FailedCheckpointWriteKeepsThePreviousOne) {
  const std::string data = shared_synth_dataset(4);
  const std::string dir = fresh_dir();
  ASSERT_EQ(run_limited(train_cmd(data, dir + "/straight", 2), 1 << 20).exit_code, 0);
  const std::string run = dir + "/run";
  ASSERT_EQ(run_limited(train_cmd(data, run, 1), 1 << 20).exit_code, 0);
  // Epoch 2's checkpoint (~2 MB at this width) cannot be written under 500 KB.
  const auto r = run_limited(train_cmd(data, run, 2) + " --resume", 500);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("error: write '" + run + "/checkpoints/epoch_0002.pt'"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("File too large"), std::string::npos) << r.output;
  EXPECT_EQ(leftover_temporaries(run), 0);
  EXPECT_FALSE(std::filesystem::exists(run + "/checkpoints/epoch_0002.pt"));
  // The epoch-1 checkpoint is intact: resuming without the limit finishes
  // with the metrics of an uninterrupted run.
  const auto again = run_limited(train_cmd(data, run, 2) + " --resume", 1 << 20);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(common::CsvLog::read(dir + "/straight/metrics/epochs.csv"),
            common::CsvLog::read(run + "/metrics/epochs.csv"));
}

TEST(ReliabilityTest, FailedCacheWriteIsAClearError) {
  const std::string data = shared_synth_dataset(4);
  const std::string run = fresh_dir() + "/run";
  // One cached 10 s clip is 998 x 128 floats (~511 KB).
  const auto r = run_limited(train_cmd(data, run, 1), 300);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("cache: cannot store the features of"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("File too large"), std::string::npos) << r.output;
  EXPECT_EQ(leftover_temporaries(run), 0);
}

// A learning rate of 1e30 blows the weights up and the loss becomes NaN on
// the next step: the run stops naming the step and the last good checkpoint,
// which still loads.
TEST(ReliabilityTest, NonFiniteLossStopsAndKeepsTheLastCheckpoint) {
  const std::string data = shared_synth_dataset(4);
  const std::string run = fresh_dir() + "/run";
  ASSERT_EQ(run_limited(train_cmd(data, run, 1), 1 << 20).exit_code, 0);
  const auto r =
      run_limited(train_cmd(data, run, 2) + " --resume --set learning_rate=1e30", 1 << 20);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("the loss became"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(epoch 2)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the last good checkpoint is '" + run + "/checkpoints/epoch_0001.pt'"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(std::filesystem::exists(run + "/checkpoints/epoch_0002.pt"));
  // It still resumes with a sane learning rate.
  EXPECT_EQ(run_limited(train_cmd(data, run, 2) + " --resume", 1 << 20).exit_code, 0);
}

}  // namespace
}  // namespace tessera
