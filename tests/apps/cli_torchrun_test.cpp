// `tessera train` under the real torchrun of PyTorch 2.11 (the environment
// scripts/setup.sh makes), launched as its documentation says:
//   torchrun --nproc-per-node 2 --no-python tessera train ...
// torchrun's agent serves the rendezvous store on MASTER_PORT itself and
// tells the workers to join it (TORCHELASTIC_USE_AGENT_STORE); with
// --max-restarts it restarts the whole group after a worker dies
// (TORCHELASTIC_RESTART_COUNT), and the run must carry on from its last
// checkpoint.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace tessera {
namespace {

using namespace tessera::testing;
namespace fs = std::filesystem;

// The demo's default seed, as a run without --set random_seed has.
std::vector<std::string> train_args(const std::string& run) {
  return demo_train_args(run, 42, "info", 30);
}

pid_t spawn_torchrun(const std::string& run, int max_restarts) {
  std::vector<std::string> args = {"--nproc-per-node", "2",
                                   "--master-addr",    "127.0.0.1",
                                   "--master-port",    std::to_string(free_port()),
                                   "--max-restarts",   std::to_string(max_restarts),
                                   "--no-python",      TESSERA_BINARY};
  for (auto& a : train_args(run)) args.push_back(a);
  return spawn_program(TESSERA_TORCHRUN, args, run + ".log");
}

// The same two ranks started by hand, as the README's second recipe.
std::vector<int> run_by_hand(const std::string& run) {
  const std::string port = std::to_string(free_port());
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r) {
    pids.push_back(spawn_tessera(
        train_args(run), run + ".rank" + std::to_string(r) + ".log",
        {"RANK=" + std::to_string(r), "WORLD_SIZE=2", "LOCAL_RANK=" + std::to_string(r),
         "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + port}));
  }
  return {wait_exit(pids[0]), wait_exit(pids[1])};
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The process whose environment holds `rank_var` and whose command line
// names `run`: one worker of one torchrun.
pid_t find_worker(const std::string& run, const std::string& rank_var) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string cmd = read_file(e.path() / "cmdline");
    if (cmd.find(run) == std::string::npos || cmd.find("torchrun") != std::string::npos) continue;
    std::string env = read_file(e.path() / "environ");
    for (char& c : env) c = c == '\0' ? '\n' : c;
    if (("\n" + env).find("\n" + rank_var + "\n") != std::string::npos) return std::stoi(name);
  }
  return -1;
}

// Metrics with the wall-clock column of the step log dropped.
std::vector<std::string> lines_without_seconds(const std::string& path, bool drop_last_column) {
  std::vector<std::string> out;
  std::istringstream in(read_text(path));
  for (std::string line; std::getline(in, line);) {
    if (drop_last_column) line = line.substr(0, line.rfind(','));
    out.push_back(line);
  }
  return out;
}

void expect_same_metrics(const std::string& a, const std::string& b) {
  const auto sa = lines_without_seconds(a + "/metrics/train_steps.csv", true);
  const auto sb = lines_without_seconds(b + "/metrics/train_steps.csv", true);
  ASSERT_GT(sa.size(), 10u);
  EXPECT_EQ(sa, sb);
  const auto ea = lines_without_seconds(a + "/metrics/epochs.csv", false);
  ASSERT_EQ(ea.size(), 4u) << "header and three epochs";
  EXPECT_EQ(ea, lines_without_seconds(b + "/metrics/epochs.csv", false));
}

class CliTorchrunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(TESSERA_TORCHRUN)) {
      GTEST_SKIP() << "no torchrun at " << TESSERA_TORCHRUN << " (run scripts/setup.sh)";
    }
  }
};

// Under torchrun the ranks join the agent's store (no "Address already in
// use") and train exactly as the same two ranks started by hand.
TEST_F(CliTorchrunTest, TwoRanksUnderTorchrunEqualTwoRanksByHand) {
  const std::string dir = fresh_dir();
  const pid_t tr = spawn_torchrun(dir + "/torchrun", 0);
  ASSERT_EQ(wait_exit(tr), 0) << read_text(dir + "/torchrun.log");
  const std::string log = read_text(dir + "/torchrun.log");
  EXPECT_NE(log.find("rank 0 of 2"), std::string::npos) << log;
  // Rank 0 serving a second store on MASTER_PORT fails to bind there
  // (LibTorch 2.11 logs it and, seeing the agent's variable, carries on).
  EXPECT_EQ(log.find("failed to bind"), std::string::npos) << log;
  ASSERT_EQ(run_by_hand(dir + "/hand"), (std::vector<int>{0, 0}))
      << read_text(dir + "/hand.rank0.log");
  expect_same_metrics(dir + "/hand", dir + "/torchrun");
  EXPECT_TRUE(fs::exists(dir + "/torchrun/checkpoints/epoch_0003.pt"));
}

// A rank killed mid-run: torchrun (--max-restarts 1) restarts the group,
// the ranks resume from the last checkpoint, and the run ends as an
// uninterrupted one.
TEST_F(CliTorchrunTest, KilledRankIsRestartedAndTheRunResumes) {
  const std::string dir = fresh_dir();
  const std::string run = dir + "/restarted";
  const pid_t tr = spawn_torchrun(run, 1);
  ASSERT_TRUE(wait_for_file(run + "/checkpoints/epoch_0001.pt", 120)) << read_text(run + ".log");
  const pid_t victim = find_worker(run, "RANK=1");
  ASSERT_GT(victim, 0) << "rank 1 of the first attempt not found";
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_EQ(wait_exit(tr), 0) << read_text(run + ".log");
  const std::string log = read_text(run + ".log");
  EXPECT_NE(log.find("torchrun restart 1, resuming"), std::string::npos) << log;
  EXPECT_NE(log.find("resuming from"), std::string::npos) << log;

  ASSERT_EQ(run_by_hand(dir + "/straight"), (std::vector<int>{0, 0}))
      << read_text(dir + "/straight.rank0.log");
  expect_same_metrics(dir + "/straight", run);
}

}  // namespace
}  // namespace tessera
