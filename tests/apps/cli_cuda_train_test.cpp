// `tessera train --device cuda` end to end (ctest label `gpu`; skipped with
// the reason where no CUDA device is present): the run directory's contract
// as on the CPU, a run trained on the GPU resumed on the CPU, and two ranks
// sharing one GPU.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "cuda_test_util.h"
#include "tessera/common/csv_log.h"
#include "test_util.h"

namespace tessera {
namespace {

using namespace tessera::testing;
namespace fs = std::filesystem;

class CliCudaTrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = tessera::testing::cuda_unavailable(); !why.empty())
      GTEST_SKIP() << why;
  }
};

std::string device_of(const std::string& run) {
  return nlohmann::json::parse(read_text(run + "/metrics/timing.json"))["device"];
}

TEST_F(CliCudaTrainTest, ARunOnTheGpuWritesTheContractAndResumesOnTheCpu) {
  const std::string dir = fresh_dir(), run = dir + "/run";
  std::vector<std::string> args = short_train_args(shared_synth_dataset(4), run, 2);
  args.insert(args.end(), {"--device", "cuda"});
  ASSERT_EQ(wait_exit(spawn_tessera(args, dir + "/gpu.log")), 0) << read_text(dir + "/gpu.log");
  for (const char* f : {"config.json", "metrics/train_steps.csv", "metrics/epochs.csv",
                        "metrics/timing.json", "checkpoints/epoch_0002.pt",
                        "eval/epoch_2/embeddings.tsv", "eval/epoch_2/centroid_distances.csv"})
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  EXPECT_EQ(device_of(run), "cuda");
  // The device's idle share between steps, from its own clock.
  const auto timing = nlohmann::json::parse(read_text(run + "/metrics/timing.json"));
  ASSERT_TRUE(timing["device_idle_fraction"].is_number()) << timing.dump();
  EXPECT_GE(timing["device_idle_fraction"].get<double>(), 0.0);
  EXPECT_LT(timing["device_idle_fraction"].get<double>(), 1.0);
  EXPECT_GT(timing["device_busy_seconds"].get<double>(), 0.0);
  const auto gpu_epochs = common::CsvLog::read(run + "/metrics/epochs.csv");
  ASSERT_EQ(gpu_epochs.size(), 2u);
  for (const auto& row : gpu_epochs)
    for (double v : row) EXPECT_TRUE(std::isfinite(v));

  std::vector<std::string> more = short_train_args(shared_synth_dataset(4), run, 3);
  more.insert(more.end(), {"--resume", "--device", "cpu"});
  ASSERT_EQ(wait_exit(spawn_tessera(more, dir + "/cpu.log")), 0) << read_text(dir + "/cpu.log");
  EXPECT_EQ(device_of(run), "cpu");
  const auto all_epochs = common::CsvLog::read(run + "/metrics/epochs.csv");
  ASSERT_EQ(all_epochs.size(), 3u);
  EXPECT_EQ(all_epochs[0], gpu_epochs[0]);  // the GPU's epochs are kept as written
  EXPECT_EQ(all_epochs[1], gpu_epochs[1]);
  EXPECT_TRUE(fs::exists(run + "/checkpoints/epoch_0003.pt"));
}

// --cuda-graph end to end: the run replays most of its steps from the
// graph (all but the warm-up and each epoch's short last batch), writes the
// same files, and ends as near the eager GPU run as two eager runs with
// different seeds end to each other. Dropout draws its masks in another
// order in a graph, and cuDNN's backward kernels are not deterministic, so
// the runs are not compared bit for bit.
TEST_F(CliCudaTrainTest, AGraphedRunReplaysItsStepsAndTracksTheEagerRun) {
  const std::string dir = fresh_dir();
  struct Run {
    std::string name;
    int seed;
    bool graph;
  };
  for (const Run& r :
       {Run{"eager", 42, false}, Run{"other_seed", 43, false}, Run{"graph", 42, true}}) {
    const std::string run = dir + "/" + r.name;
    std::vector<std::string> args = short_train_args(shared_synth_dataset(4), run, 2);
    args.insert(args.end(), {"--device", "cuda", "--set", "random_seed=" + std::to_string(r.seed)});
    if (r.graph) args.push_back("--cuda-graph");
    ASSERT_EQ(wait_exit(spawn_tessera(args, run + ".log")), 0) << read_text(run + ".log");
    EXPECT_TRUE(fs::exists(run + "/checkpoints/epoch_0002.pt"));
  }
  const auto t = nlohmann::json::parse(read_text(dir + "/graph/metrics/timing.json"));
  EXPECT_EQ(t["adam_update"], "fused");
  ASSERT_TRUE(t["cuda_graph_replays"].is_number()) << t.dump();
  const std::int64_t replays = t["cuda_graph_replays"], steps = t["steps"];
  EXPECT_GE(replays, 1);
  EXPECT_LE(replays, steps - 3);
  const auto a = common::CsvLog::read(dir + "/eager/metrics/epochs.csv");
  const auto other = common::CsvLog::read(dir + "/other_seed/metrics/epochs.csv");
  const auto b = common::CsvLog::read(dir + "/graph/metrics/epochs.csv");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(other.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  const double noise = std::abs(other[1][1] - a[1][1]);
  EXPECT_LE(std::abs(b[1][1] - a[1][1]), 3 * noise + 0.05)
      << "train loss of epoch 2: eager " << a[1][1] << ", seed 43 " << other[1][1] << ", graph "
      << b[1][1];
  EXPECT_LT(b[1][1], b[0][1]) << "the graphed run learns";
}

// NCCL refuses two ranks on one device, so two ranks share cuda:0 through
// Gloo on CUDA tensors: both end with the same network, bit for bit (the
// trainer compares their digests after every epoch; rank 0 records them).
TEST_F(CliCudaTrainTest, TwoRanksOnOneGpuEndIdentical) {
  const std::string dir = fresh_dir(), run = dir + "/run";
  std::vector<std::string> args = short_train_args(shared_synth_dataset(4), run, 2);
  args.insert(args.end(), {"--device", "cuda:0", "--dist-backend", "gloo"});
  const std::string port = std::to_string(free_port());
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r) {
    pids.push_back(spawn_tessera(
        args, dir + "/rank" + std::to_string(r) + ".log",
        {"RANK=" + std::to_string(r), "WORLD_SIZE=2", "LOCAL_RANK=" + std::to_string(r),
         "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + port}));
  }
  EXPECT_EQ(wait_exit(pids[0]), 0) << read_text(dir + "/rank0.log");
  EXPECT_EQ(wait_exit(pids[1]), 0) << read_text(dir + "/rank1.log");
  const auto ranks = nlohmann::json::parse(read_text(run + "/metrics/ranks.json"));
  EXPECT_EQ(ranks["epoch"].get<int>(), 2);
  ASSERT_EQ(ranks["digests"].size(), 2u);
  EXPECT_EQ(ranks["digests"][0], ranks["digests"][1]);
  EXPECT_EQ(device_of(run), "cuda:0");
}

}  // namespace
}  // namespace tessera
