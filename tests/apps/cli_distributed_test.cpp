// `tessera train` as two torchrun-style processes on loopback.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "tessera/common/csv_log.h"
#include "tessera/train/checkpoint.h"
#include "test_util.h"

namespace tessera {
namespace {

using namespace tessera::testing;

std::vector<std::string> args(const std::string& run, int seed) {
  return demo_train_args(run, seed, "warning", 20);
}

// Two ranks of a demo run. Once rank 0 has logged a step, `signal_rank1`
// (when not 0) is sent to rank 1 alone.
std::vector<int> run_two(const std::string& run, int seed, int signal_rank1 = 0,
                         std::vector<std::string> extra = {}) {
  const std::string port = std::to_string(free_port());
  std::vector<pid_t> pids;
  std::vector<std::string> a = args(run, seed);
  a.insert(a.end(), extra.begin(), extra.end());
  for (int r = 0; r < 2; ++r) {
    pids.push_back(spawn_tessera(
        a, run + ".rank" + std::to_string(r) + ".log",
        {"RANK=" + std::to_string(r), "WORLD_SIZE=2", "LOCAL_RANK=" + std::to_string(r),
         "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + port}));
  }
  if (signal_rank1) {
    wait_for_file(run + "/metrics/train_steps.csv", 60);
    ::kill(pids[1], signal_rank1);
  }
  return {wait_exit(pids[0]), wait_exit(pids[1])};
}

double final_loss(const std::string& run) {
  return common::CsvLog::read(run + "/metrics/epochs.csv").back()[1];
}

// Batch norm statistics are per rank (like DDP without SyncBatchNorm), so
// the runs are not identical; the 2-process curve must stay within the
// noise between two 1-process runs that differ only in their seed.
TEST(CliDistributedTest, TwoProcessesTrackOneProcess) {
  const std::string dir = fresh_dir();
  ASSERT_EQ(wait_exit(spawn_tessera(args(dir + "/one42", 42), dir + "/one42.log")), 0)
      << read_text(dir + "/one42.log");
  ASSERT_EQ(wait_exit(spawn_tessera(args(dir + "/one43", 43), dir + "/one43.log")), 0);
  ASSERT_EQ(run_two(dir + "/two42", 42), (std::vector<int>{0, 0}))
      << read_text(dir + "/two42.rank0.log");
  const double one = final_loss(dir + "/one42"), other = final_loss(dir + "/one43"),
               two = final_loss(dir + "/two42");
  const double noise = std::fabs(one - other);
  RecordProperty("losses",
                 std::to_string(one) + " " + std::to_string(other) + " " + std::to_string(two));
  EXPECT_LE(std::fabs(two - one), 3 * noise + 0.05)
      << "1-proc " << one << ", seed 43 " << other << ", 2-proc " << two;
  const auto epochs = common::CsvLog::read(dir + "/two42/metrics/epochs.csv");
  EXPECT_LT(epochs.back()[1], epochs.front()[1]) << "the 2-process run learns";
  // Only rank 0 writes: one metrics file, one set of checkpoints.
  EXPECT_TRUE(std::filesystem::exists(dir + "/two42/checkpoints/epoch_0003.pt"));
  // Averaged gradients and broadcast batch-norm statistics: after the last
  // epoch both ranks hold the same network, bit for bit.
  const auto ranks = nlohmann::json::parse(read_text(dir + "/two42/metrics/ranks.json"));
  EXPECT_EQ(ranks["epoch"].get<int>(), 3);
  ASSERT_EQ(ranks["digests"].size(), 2u);
  EXPECT_EQ(ranks["digests"][0], ranks["digests"][1]);
  EXPECT_EQ(ranks["digests"][0].get<std::string>().size(), 16u);
  EXPECT_TRUE(ranks["identical"].get<bool>());
}

TEST(CliDistributedTest, KilledPeerEndsTheOtherRank) {
  const std::string dir = fresh_dir();
  const auto t0 = std::chrono::steady_clock::now();
  const auto codes = run_two(dir + "/run", 42, SIGKILL);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(codes[0], 0) << read_text(dir + "/run.rank0.log");
  EXPECT_NE(read_text(dir + "/run.rank0.log").find("distributed:"), std::string::npos)
      << read_text(dir + "/run.rank0.log");
  EXPECT_LT(secs, 90.0);
}

// SIGINT to one rank only (torchrun signals them all, but not at one
// instant): the ranks agree at the next metrics read-back and both stop
// after the same step, rank 0 checkpointing, instead of one rank waiting in
// a collective the other never joins. Resumed, both finish with the same
// network.
TEST(CliDistributedTest, AStopAskedOfOneRankStopsBothAtOneStep) {
  const std::string dir = fresh_dir(), run = dir + "/run";
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(run_two(run, 42, SIGINT), (std::vector<int>{130, 130}))
      << read_text(run + ".rank0.log") << read_text(run + ".rank1.log");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 60.0);
  ASSERT_FALSE(train::list_checkpoints(run + "/checkpoints").empty());
  ASSERT_EQ(run_two(run, 42, 0, {"--resume"}), (std::vector<int>{0, 0}))
      << read_text(run + ".rank0.log") << read_text(run + ".rank1.log");
  EXPECT_EQ(common::CsvLog::read(run + "/metrics/epochs.csv").size(), 3u);
  const auto ranks = nlohmann::json::parse(read_text(run + "/metrics/ranks.json"));
  EXPECT_TRUE(ranks["identical"].get<bool>()) << ranks.dump();
}

// `sweep --distribute margins`: rank r trains the runs r, r + 2, ... of the
// (margin, seed) list; rank 0 waits for the others' runs and writes the one
// report. With two margins and two seeds, rank 0 gets seed 42 of both margins
// and rank 1 seed 43.
TEST(CliDistributedTest, SweepSpreadsMarginsOverRanks) {
  const std::string dir = fresh_dir();
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r) {
    pids.push_back(spawn_tessera({"sweep",
                                  "-c",
                                  std::string(TESSERA_SOURCE_DIR) + "/configs/demo.json",
                                  "--set",
                                  "dcase_dataset_path=" + shared_synth_dataset(4),
                                  "--set",
                                  "epochs=1",
                                  "--set",
                                  "batch_size=16",
                                  "--margins",
                                  "0.3,1",
                                  "--seeds",
                                  "2",
                                  "--focus",
                                  "0.3",
                                  "--threads",
                                  "1",
                                  "--distribute",
                                  "margins",
                                  "--out",
                                  dir + "/sweep"},
                                 dir + "/rank" + std::to_string(r) + ".log",
                                 {"RANK=" + std::to_string(r), "WORLD_SIZE=2"}));
  }
  EXPECT_EQ(wait_exit(pids[0]), 0) << read_text(dir + "/rank0.log");
  EXPECT_EQ(wait_exit(pids[1]), 0) << read_text(dir + "/rank1.log");
  const std::string r0 = read_text(dir + "/rank0.log"), r1 = read_text(dir + "/rank1.log");
  for (const char* run : {"margin 0.3 seed 42", "margin 1 seed 42"}) {
    EXPECT_NE(r0.find(std::string("training ") + run), std::string::npos) << r0;
    EXPECT_EQ(r1.find(std::string("training ") + run), std::string::npos) << r1;
  }
  for (const char* run : {"margin 0.3 seed 43", "margin 1 seed 43"}) {
    EXPECT_NE(r1.find(std::string("training ") + run), std::string::npos) << r1;
    EXPECT_EQ(r0.find(std::string("training ") + run), std::string::npos) << r0;
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/sweep/report.html"));
  // margin 1: two seeds, one epoch each.
  EXPECT_NE(read_text(dir + "/sweep/summary.csv").find("\n1,2,1,"), std::string::npos)
      << read_text(dir + "/sweep/summary.csv");
}

// A sweep's rank comes from the same checked reading of torchrun's variables
// as training's: a malformed RANK is an error naming it, not rank 0 (which
// would train rank 0's runs twice and wait for a rank that never reports).
TEST(CliDistributedTest, SweepRefusesAMalformedRank) {
  const std::string dir = fresh_dir();
  const auto r =
      run_command("RANK=first WORLD_SIZE=2 timeout 60 '" + std::string(TESSERA_BINARY) +
                  "' sweep -c '" + TESSERA_SOURCE_DIR +
                  "/configs/demo.json' --set dcase_dataset_path=" + shared_synth_dataset(4) +
                  " --set epochs=1 --margins 1 --seeds 2 --threads 1"
                  " --distribute margins --out " +
                  dir + "/sweep");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "timed out: " << r.output;
  EXPECT_NE(r.output.find("RANK"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/sweep/runs")) << r.output;
}

}  // namespace
}  // namespace tessera
