// End-to-end tests of `tessera train` on synthetic data, asserting on the
// files the run writes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <random>

#include "tessera/common/csv_log.h"
#include "test_util.h"

namespace tessera {
namespace {

using namespace tessera::testing;

std::vector<std::string> train_args(const std::string& data, const std::string& run, int epochs) {
  return short_train_args(data, run, epochs);
}

int train(const std::string& data, const std::string& run, int epochs,
          std::vector<std::string> extra = {}) {
  auto args = train_args(data, run, epochs);
  args.insert(args.end(), extra.begin(), extra.end());
  return wait_exit(spawn_tessera(args, run + ".log"));
}

std::vector<std::vector<double>> csv(const std::string& path) {
  return common::CsvLog::read(path);
}

// Every column but the wall-clock seconds.
void expect_same_steps(const std::string& a, const std::string& b) {
  auto x = csv(a), y = csv(b);
  ASSERT_EQ(x.size(), y.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i].pop_back();
    y[i].pop_back();
    EXPECT_EQ(x[i], y[i]) << "row " << i;
  }
}

TEST(CliTrainTest, WritesTheRunDirectoryContractAndLearns) {
  const std::string data = shared_synth_dataset(4);
  const std::string run = fresh_dir() + "/run";
  // Six epochs: on these 90 eval tiles the silhouette moves by +-0.03 from
  // epoch to epoch, so three epochs could not show its trend above that.
  ASSERT_EQ(train(data, run, 6), 0) << read_text(run + ".log");
  for (const char* f :
       {"config.json", "metrics/train_steps.csv", "metrics/epochs.csv", "metrics/timing.json",
        "eval/epoch_6/centroid_distances.csv", "eval/epoch_6/embeddings.tsv",
        "eval/epoch_6/labels.tsv", "eval/epoch_6/names.tsv", "checkpoints/epoch_0006.pt"}) {
    EXPECT_TRUE(std::filesystem::exists(run + "/" + f)) << f;
  }
  std::vector<std::string> header;
  const auto epochs = common::CsvLog::read(run + "/metrics/epochs.csv", &header);
  ASSERT_EQ(epochs.size(), 6u);
  EXPECT_EQ(header.at(7), "silhouette");
  // Training drives the loss down and the silhouette up.
  EXPECT_LT(epochs[5][1], epochs[0][1]) << "train loss";
  EXPECT_GT(epochs[5][7], epochs[0][7] + 0.05) << "silhouette";
  const auto steps = csv(run + "/metrics/train_steps.csv");
  ASSERT_FALSE(steps.empty());
  EXPECT_EQ(steps.back()[1], 6.0);
  const std::string labels = read_text(run + "/eval/epoch_6/labels.tsv");
  EXPECT_NE(labels.find("vacuum_cleaner"), std::string::npos);
  // The time accounting adds up: steps inside the epochs' loops, loops,
  // evaluation and checkpoints inside the whole run.
  const auto t = nlohmann::json::parse(read_text(run + "/metrics/timing.json"));
  const double step_s = t["step_seconds"], loop_s = t["loop_seconds"], eval_s = t["eval_seconds"],
               ckpt_s = t["checkpoint_seconds"], all_s = t["seconds"];
  EXPECT_GT(step_s, 0);
  EXPECT_LE(step_s, loop_s);
  EXPECT_LE(loop_s + eval_s + ckpt_s, all_s);
  EXPECT_GT(eval_s, 0);
  EXPECT_GT(ckpt_s, 0);
  // Batches of 16; each epoch's last batch may be partial.
  const double triplets = t["triplets"], step_count = t["steps"];
  EXPECT_LE(triplets, step_count * 16);
  EXPECT_GT(triplets, (step_count - 6) * 16);
  EXPECT_NEAR(t["pipeline_overhead_fraction"].get<double>(), 1 - step_s / loop_s, 1e-9);
}

// bf16 runs end to end on channels-last activations (the default layout),
// with glibc checking its heap on every call (LibTorch 1.13's fp32
// channels-last backward once corrupted it at this width): the run
// completes, records its precision and layout, and its training loss falls.
TEST(CliTrainTest, Bf16OnChannelsLastTrainsEndToEnd) {
  const std::string data = shared_synth_dataset(4);
  const std::string run = fresh_dir() + "/run";
  ::setenv("MALLOC_CHECK_", "3", 1);
  const int code = train(data, run, 4, {"--precision", "bf16"});
  ::unsetenv("MALLOC_CHECK_");
  ASSERT_EQ(code, 0) << read_text(run + ".log");
  const auto t = nlohmann::json::parse(read_text(run + "/metrics/timing.json"));
  EXPECT_EQ(t["precision"], "bf16");
  EXPECT_EQ(t["layout"], "auto");
  const auto epochs = common::CsvLog::read(run + "/metrics/epochs.csv");
  ASSERT_EQ(epochs.size(), 4u);
  for (const auto& e : epochs) EXPECT_TRUE(std::isfinite(e[1]) && std::isfinite(e[7]));
  EXPECT_LT(epochs[3][1], epochs[0][1]) << "train loss";
  EXPECT_TRUE(std::filesystem::exists(run + "/checkpoints/epoch_0004.pt"));
}

// --kernels none runs bf16 on LibTorch's operators alone, whose choices do
// not rest on timings: two runs give the same steps bit for bit, and the
// run records what it used. A mistyped kernel is refused while parsing.
TEST(CliTrainTest, Bf16WithoutTesserasKernelsIsRepeatable) {
  const std::string data = shared_synth_dataset(4);
  const std::string dir = fresh_dir();
  for (const char* name : {"a", "b"}) {
    const std::string run = dir + "/" + name;
    ASSERT_EQ(train(data, run, 1, {"--precision", "bf16", "--kernels", "none"}), 0)
        << read_text(run + ".log");
    const auto t = nlohmann::json::parse(read_text(run + "/metrics/timing.json"));
    EXPECT_EQ(t["kernels"], "none");
  }
  expect_same_steps(dir + "/a/metrics/train_steps.csv", dir + "/b/metrics/train_steps.csv");
  EXPECT_EQ(csv(dir + "/a/metrics/epochs.csv")[0][1], csv(dir + "/b/metrics/epochs.csv")[0][1]);

  const std::string bad = dir + "/bad";
  EXPECT_NE(train(data, bad, 1, {"--precision", "bf16", "--kernels", "conv_tuning+fused_bn"}), 0);
  const std::string log = read_text(bad + ".log");
  EXPECT_NE(log.find("unknown kernel 'fused_bn'"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(bad + "/config.json"));
}

// Train 2 epochs straight; train the same run, kill -9 it once the first
// checkpoint exists and resume: the metrics equal the uninterrupted run's.
TEST(CliTrainTest, KillAndResumeEqualsUninterrupted) {
  const std::string data = shared_synth_dataset(4);
  const std::string dir = fresh_dir();
  ASSERT_EQ(train(data, dir + "/straight", 2), 0);
  const std::string run = dir + "/killed";
  const pid_t pid = spawn_tessera(train_args(data, run, 2), run + ".log");
  ASSERT_TRUE(wait_for_file(run + "/checkpoints/epoch_0001.pt", 120));
  ::kill(pid, SIGKILL);
  wait_exit(pid);
  ASSERT_EQ(train(data, run, 2, {"--resume"}), 0) << read_text(run + ".log");
  expect_same_steps(dir + "/straight/metrics/train_steps.csv", run + "/metrics/train_steps.csv");
  EXPECT_EQ(csv(dir + "/straight/metrics/epochs.csv"), csv(run + "/metrics/epochs.csv"));
}

// kill -9 at seeded random moments (during the cache build, a step, an
// evaluation or a checkpoint write, wherever it lands), several times, each
// time followed by --resume: the finished run equals an uninterrupted one.
TEST(CliTrainTest, RandomKillsNeverCorruptTheRun) {
  const std::string data = shared_synth_dataset(4);
  const std::string dir = fresh_dir();
  ASSERT_EQ(train(data, dir + "/straight", 3), 0);
  const std::string run = dir + "/killed";
  std::mt19937 rng(2026);
  int kills = 0;
  for (int attempt = 0; attempt < 8 && kills < 4; ++attempt) {
    auto args = train_args(data, run, 3);
    args.push_back("--resume");
    const pid_t pid = spawn_tessera(args, run + ".log");
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 2500)(rng)));
    // Counted only when the signal ended it: kill() also succeeds on a child
    // that has already exited and is not yet reaped.
    ::kill(pid, SIGKILL);
    if (wait_exit(pid) == 128 + SIGKILL) ++kills;
  }
  ASSERT_EQ(train(data, run, 3, {"--resume"}), 0) << read_text(run + ".log");
  EXPECT_GE(kills, 3);
  expect_same_steps(dir + "/straight/metrics/train_steps.csv", run + "/metrics/train_steps.csv");
  EXPECT_EQ(csv(dir + "/straight/metrics/epochs.csv"), csv(run + "/metrics/epochs.csv"));
}

// SIGINT mid-epoch: the step finishes, a checkpoint is written, the exit
// code is non-zero with a resume hint, and resuming finishes identically.
TEST(CliTrainTest, InterruptCheckpointsMidEpochAndResumes) {
  const std::string data = shared_synth_dataset(4);
  const std::string dir = fresh_dir();
  ASSERT_EQ(train(data, dir + "/straight", 1), 0);
  const std::string run = dir + "/interrupted";
  const pid_t pid = spawn_tessera(train_args(data, run, 1), run + ".log");
  // Wait for a few steps to be logged, then interrupt.
  const std::string steps = run + "/metrics/train_steps.csv";
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < end &&
         (!std::filesystem::exists(steps) || csv(steps).size() < 3)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGINT);
  const int code = wait_exit(pid);
  const std::string log = read_text(run + ".log");
  if (code == 0) GTEST_SKIP() << "the run finished before the signal arrived";
  EXPECT_EQ(code, 130) << log;
  EXPECT_NE(log.find("--resume"), std::string::npos) << log;
  ASSERT_EQ(train(data, run, 1, {"--resume"}), 0) << read_text(run + ".log");
  expect_same_steps(dir + "/straight/metrics/train_steps.csv", steps);
  EXPECT_EQ(csv(dir + "/straight/metrics/epochs.csv"), csv(run + "/metrics/epochs.csv"));
}

TEST(CliTrainTest, BadConfigValuesAreClearErrors) {
  const std::string data = shared_synth_dataset(4);
  const std::string dir = fresh_dir();
  struct Case {
    std::string set, message;
  };
  for (const Case& c : {Case{"margin=-1", "margin (-1) must be > 0"},
                        Case{"model=ResNet99", "model 'ResNet99' must be one of"},
                        Case{"batch_size=100000", "exceeds the"}}) {
    auto r = run_tessera("train -c " + std::string(TESSERA_SOURCE_DIR) +
                         "/configs/demo.json --set dcase_dataset_path=" + data + " --set " + c.set +
                         " --run-dir " + dir + "/r");
    EXPECT_NE(r.exit_code, 0) << c.set;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << r.output;
  }
}

// --adam fused trains on the CPU too, and continues a checkpoint the loop
// wrote (both keep LibTorch's Adam state): a run resumed with it ends
// within rounding of the loop's run, and each records its update. A CUDA
// graph on the CPU is refused before the run directory is touched.
TEST(CliTrainTest, TheFusedAdamUpdateContinuesTheLoopsCheckpoint) {
  const std::string data = shared_synth_dataset(4);
  const std::string dir = fresh_dir();
  ASSERT_EQ(train(data, dir + "/loop", 2), 0) << read_text(dir + "/loop.log");
  const std::string run = dir + "/switched";
  ASSERT_EQ(train(data, run, 1), 0) << read_text(run + ".log");
  ASSERT_EQ(train(data, run, 2, {"--resume", "--adam", "fused"}), 0) << read_text(run + ".log");
  const auto loop_t = nlohmann::json::parse(read_text(dir + "/loop/metrics/timing.json"));
  const auto t = nlohmann::json::parse(read_text(run + "/metrics/timing.json"));
  EXPECT_EQ(loop_t["adam_update"], "loop");
  EXPECT_EQ(t["adam_update"], "fused");
  EXPECT_TRUE(t["cuda_graph_replays"].is_null());
  const auto a = csv(dir + "/loop/metrics/epochs.csv"), b = csv(run + "/metrics/epochs.csv");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0], a[0]);  // the loop's epoch in both
  EXPECT_NE(b[1][1], a[1][1]) << "the resumed epoch did not use the fused update";
  EXPECT_NEAR(b[1][1], a[1][1], 1e-3 * std::abs(a[1][1])) << "train loss of epoch 2";

  const std::string graph = dir + "/graph";
  const auto r = run_tessera("train -c " + std::string(TESSERA_SOURCE_DIR) +
                             "/configs/demo.json --set dcase_dataset_path=" + data +
                             " --cuda-graph --run-dir " + graph);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("needs a CUDA device"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(graph + "/config.json"));
}

TEST(CliTrainTest, SecondProcessOnTheSameRunIsRefused) {
  const std::string data = shared_synth_dataset(4);
  const std::string run = fresh_dir() + "/run";
  const pid_t pid = spawn_tessera(train_args(data, run, 2), run + ".log");
  ASSERT_TRUE(wait_for_file(run + "/.lock", 60));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto args = train_args(data, run, 2);
  std::string cmd;
  for (const auto& arg : args) cmd += " '" + arg + "'";
  auto r = run_tessera(cmd);
  ::kill(pid, SIGKILL);
  wait_exit(pid);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("another tessera process"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tessera
