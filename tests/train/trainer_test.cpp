// Trainer at unit level: the epoch loop (what reaches train_steps.csv and
// epochs.csv, the learning-rate staircase, the evaluation hook, checkpoints)
// and an in-process stop and resume, on the shared synthetic dataset with
// the demo config's model (ResNet18 at width 8) at batch 16 on one thread.
// Expected values come from the config (the staircase formula of the
// original's tf.keras ExponentialDecay with staircase=True) and from the
// run's own per-step rows.
#include "tessera/train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tessera/study/config_options.h"
#include "tessera/train/checkpoint.h"
#include "test_util.h"

namespace tessera::train {
namespace {

using Table = std::vector<std::vector<double>>;

Table read_csv(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  Table rows;
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) row.push_back(std::stod(cell));
    rows.push_back(row);
  }
  return rows;
}

study::Config tiny_config() {
  study::Config c = tessera::testing::demo_config_on_shared_data(2);
  c.cache_dir = std::string(TESSERA_TEST_TMP) + "/trainer_test_cache";
  c.lr_decay_steps = 3;
  c.lr_decay_rate = 0.5;
  return c;
}

TrainerOptions one_thread() {
  TrainerOptions o;
  o.threads = 1;
  o.tensorboard = false;
  return o;
}

// An evaluation that reads the network: its numbers change with every
// parameter update, so equal epochs.csv rows mean equal networks.
struct RecordingEval {
  std::vector<int> epochs;
  std::vector<torch::Tensor> parameters;  // flattened, after each epoch
  EpochEval operator()(model::ResNet& net, int epoch) {
    epochs.push_back(epoch);
    std::vector<torch::Tensor> flat;
    for (const auto& p : net->parameters()) flat.push_back(p.detach().flatten().cpu().clone());
    parameters.push_back(torch::cat(flat));
    EpochEval e;
    e.silhouette = 0.1 * epoch;
    e.centroid_cv = parameters.back().abs().sum().item<double>();
    e.nmi = parameters.back().pow(2).sum().item<double>();
    return e;
  }
};

struct RunResult {
  TrainSummary summary;
  Table steps, epochs;
};

RunResult train(const study::Config& cfg, const std::string& dir, const TrainerOptions& o,
                RecordingEval& eval) {
  sampling::RunData data = sampling::RunData::load(study::run_data_options(cfg, dir), 1);
  Trainer trainer(study::training_options(cfg, o.world), dir, o, data,
                  [&](model::ResNet& net, int epoch) { return eval(net, epoch); });
  RunResult r;
  r.summary = trainer.run();
  r.steps = read_csv(dir + "/metrics/train_steps.csv");
  r.epochs = read_csv(dir + "/metrics/epochs.csv");
  return r;
}

// A run that is asked to stop after its `passes`-th backward pass.
RunResult train_until_backward(const study::Config& cfg, const std::string& dir, TrainerOptions o,
                               int passes, RecordingEval& eval) {
  int backward_passes = 0;
  o.sync_gradients = [&](model::ResNet&) {
    if (++backward_passes == passes) Trainer::stop_requested() = true;
  };
  RunResult r = train(cfg, dir, o, eval);
  Trainer::stop_requested() = false;
  return r;
}

// The same per-step rows, column for column, but the last (their times).
void expect_same_steps_but_times(const Table& got, const Table& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t k = 0; k < want.size(); ++k) {
    for (std::size_t c = 0; c + 1 < want[k].size(); ++c)
      EXPECT_EQ(got[k][c], want[k][c]) << "step " << k + 1 << " column " << c;
  }
}

// Resumes the stopped run in `dir` and checks that it ends where `whole`
// did: the same per-step rows (but their times), epoch rows and parameters.
RunResult expect_resumes_to(const study::Config& cfg, const std::string& dir, TrainerOptions o,
                            const RunResult& whole, const RecordingEval& whole_eval) {
  o.resume = true;
  RecordingEval rest_eval;
  RunResult rest = train(cfg, dir, o, rest_eval);
  expect_same_steps_but_times(rest.steps, whole.steps);
  EXPECT_EQ(rest.epochs, whole.epochs);
  EXPECT_TRUE(torch::equal(rest_eval.parameters.back(), whole_eval.parameters.back()));
  return rest;
}

TEST(TrainerTest, EachEpochIsTrainedEvaluatedLoggedAndCheckpointed) {
  const study::Config cfg = tiny_config();
  const std::string dir = tessera::testing::fresh_dir();
  RecordingEval eval;
  const RunResult r = train(cfg, dir, one_thread(), eval);
  EXPECT_FALSE(r.summary.interrupted);
  EXPECT_EQ(r.summary.epochs_run, 2);
  EXPECT_EQ(eval.epochs, (std::vector<int>{1, 2}));
  ASSERT_EQ(r.steps.size(), std::size_t(r.summary.steps));
  ASSERT_GE(r.steps.size(), 8u);  // enough steps to pass two staircase edges
  // Columns: step, epoch, loss, triplet_loss, reg_loss, dist_neighbour,
  // dist_opposite, active_fraction, lr, seconds.
  std::vector<double> loss_sum(3, 0.0), triplet_sum(3, 0.0);
  std::vector<int> count(3, 0);
  for (std::size_t k = 0; k < r.steps.size(); ++k) {
    const auto& row = r.steps[k];
    EXPECT_EQ(row[0], double(k + 1));
    EXPECT_NEAR(row[8], 1e-3 * std::pow(0.5, double(k / 3)), 1e-12) << "step " << k + 1;
    const int epoch = int(row[1]);
    ASSERT_TRUE(epoch == 1 || epoch == 2);
    loss_sum[epoch] += row[2];
    triplet_sum[epoch] += row[3];
    ++count[epoch];
  }
  EXPECT_EQ(count[1], count[2]);  // the same number of triplets every epoch
  // epochs.csv: epoch, train_loss, train_triplet_loss, eval_triplet_loss, ...,
  // silhouette (7), centroid_cv (8), ..., nmi (12).
  ASSERT_EQ(r.epochs.size(), 2u);
  for (int e = 1; e <= 2; ++e) {
    const auto& row = r.epochs[std::size_t(e - 1)];
    EXPECT_EQ(row[0], e);
    EXPECT_NEAR(row[1], loss_sum[std::size_t(e)] / count[std::size_t(e)], 1e-5);
    EXPECT_NEAR(row[2], triplet_sum[std::size_t(e)] / count[std::size_t(e)], 1e-5);
    EXPECT_NEAR(row[7], 0.1 * e, 1e-12);
    EXPECT_NEAR(row[8], eval.parameters[std::size_t(e - 1)].abs().sum().item<double>(),
                1e-6 * row[8]);
  }
  // The network changed between the two evaluations.
  EXPECT_FALSE(torch::equal(eval.parameters[0], eval.parameters[1]));
  const auto checkpoints = list_checkpoints(dir + "/checkpoints");
  ASSERT_EQ(checkpoints.size(), 2u);
  EXPECT_EQ(std::filesystem::path(checkpoints.back()).filename(), "epoch_0002.pt");
  const nlohmann::json timing =
      nlohmann::json::parse(tessera::testing::read_text(dir + "/metrics/timing.json"));
  EXPECT_EQ(timing["steps"].get<std::int64_t>(), r.summary.steps);
  EXPECT_EQ(timing["epochs_run"].get<int>(), 2);
  EXPECT_FALSE(timing["interrupted"].get<bool>());
  const double wait = timing["data_wait_seconds"], wall = timing["seconds"];
  EXPECT_NEAR(timing["data_wait_fraction"].get<double>(), wait / wall, 1e-12);
  EXPECT_GE(wait, 0.0);
  EXPECT_LE(wait, wall);
  // The device's idle time is measured on a GPU only (tests/train/cuda_test.cpp).
  EXPECT_TRUE(timing["device_idle_fraction"].is_null());
}

// A stop requested after the third backward pass of epoch 1 checkpoints
// mid-epoch; a resumed Trainer then ends where an uninterrupted one does:
// the same per-step rows (but their times), the same epoch rows (the epoch
// means cover the batches before the stop), the same final parameters.
TEST(TrainerTest, AStopMidEpochResumesToTheUninterruptedRun) {
  const study::Config cfg = tiny_config();
  RecordingEval whole_eval;
  const RunResult whole =
      train(cfg, tessera::testing::fresh_dir("whole"), one_thread(), whole_eval);

  const std::string dir = tessera::testing::fresh_dir("stopped");
  RecordingEval first_eval;
  const RunResult first = train_until_backward(cfg, dir, one_thread(), 3, first_eval);
  EXPECT_TRUE(first.summary.interrupted);
  EXPECT_EQ(first.summary.epochs_run, 0);
  EXPECT_EQ(first.summary.steps, 3);
  EXPECT_TRUE(first_eval.epochs.empty());
  ASSERT_EQ(list_checkpoints(dir + "/checkpoints").size(), 1u);

  TrainerOptions resuming = one_thread();
  resuming.resume = true;
  RecordingEval rest_eval;
  const RunResult rest = train(cfg, dir, resuming, rest_eval);
  EXPECT_FALSE(rest.summary.interrupted);
  EXPECT_EQ(rest.summary.steps, whole.summary.steps);
  EXPECT_EQ(rest_eval.epochs, (std::vector<int>{1, 2}));
  expect_same_steps_but_times(rest.steps, whole.steps);
  EXPECT_EQ(rest.epochs, whole.epochs);
  EXPECT_TRUE(torch::equal(rest_eval.parameters.back(), whole_eval.parameters.back()));

  // The run holds checkpoints now: starting it afresh is refused.
  RecordingEval again;
  try {
    train(cfg, dir, one_thread(), again);
    FAIL() << "a fresh start over checkpoints was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
  }
}

// The step metrics read back every 4 steps instead of every step (as on a
// GPU, where each read-back waits for the device) change no row: the same
// per-step rows (but their times), epoch rows and parameters. A stop after
// the fifth backward pass, mid-window, still reads the queued step back
// before its checkpoint, so the resumed run ends as the uninterrupted one.
TEST(TrainerTest, MetricsReadBackInWindowsChangeNothing) {
  const study::Config cfg = tiny_config();
  RecordingEval each_eval;
  const RunResult each = train(cfg, tessera::testing::fresh_dir("each"), one_thread(), each_eval);
  ASSERT_GE(each.steps.size(), 8u);

  const std::string dir = tessera::testing::fresh_dir("windows");
  TrainerOptions windows = one_thread();
  windows.metrics_every = 4;
  RecordingEval first_eval;
  const RunResult first = train_until_backward(cfg, dir, windows, 5, first_eval);
  EXPECT_TRUE(first.summary.interrupted);
  EXPECT_EQ(first.summary.steps, 5);
  EXPECT_EQ(first.steps.size(), 5u);
  const RunResult rest = expect_resumes_to(cfg, dir, windows, each, each_eval);
  // The triplets of the two parts add up to the uninterrupted run's.
  EXPECT_EQ(first.summary.triplets + rest.summary.triplets, each.summary.triplets);
}

// A learning rate of 1e30 sends the weights to about 1e30 in the first
// step; their L2 penalty (w^2 ~ 1e60) then overflows float32 in the second,
// so its loss is infinite. With the metrics read every 4 steps the run
// still stops there: the read-back names step 2, and only step 1's row was
// written.
TEST(TrainerTest, ANonFiniteLossInAWindowStopsAtItsStep) {
  study::Config cfg = tiny_config();
  cfg.learning_rate = 1e30;
  cfg.l2_amount = 1e-4;
  const std::string dir = tessera::testing::fresh_dir();
  TrainerOptions o = one_thread();
  o.metrics_every = 4;
  RecordingEval eval;
  try {
    train(cfg, dir, o, eval);
    FAIL() << "a non-finite loss went unnoticed";
  } catch (const NonFiniteLoss& e) {
    EXPECT_NE(std::string(e.what()).find("at step 2 (epoch 1)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_csv(dir + "/metrics/train_steps.csv").size(), 1u);
  EXPECT_TRUE(list_checkpoints(dir + "/checkpoints").empty());
  EXPECT_TRUE(eval.epochs.empty());
}

// The real-audio method (nt_xent, time statistics, an MLP head, dataset
// standardisation and every augmentation) stopped mid-epoch and resumed ends
// where the uninterrupted run does, bit for bit: the augmentation is drawn
// from the run's seed, not from the order of work. Its statistics are in
// the run directory, and the augmentation really changes the steps.
TEST(TrainerTest, TheRealAudioMethodWithAugmentationResumesBitForBit) {
  study::Config cfg = tiny_config();
  cfg.loss = "nt_xent";
  cfg.pooling = "time_stats";
  cfg.projection_head = "mlp";
  cfg.projection_hidden = 32;
  cfg.input_normalisation = "dataset";
  cfg.mixback_probability = 0.5;
  cfg.gain_probability = 0.5;
  cfg.time_mask_probability = 0.5;
  cfg.freq_mask_probability = 0.5;
  RecordingEval whole_eval;
  const std::string whole_dir = tessera::testing::fresh_dir("method_whole");
  const RunResult whole = train(cfg, whole_dir, one_thread(), whole_eval);
  const std::string stats_text = tessera::testing::read_text(whole_dir + "/input_stats.json");
  const auto stats = nlohmann::json::parse(stats_text);
  EXPECT_GT(stats["std"].get<double>(), 0.0);
  EXPECT_LT(stats["mean"].get<double>(), 0.0);  // log-mel values of quiet sounds

  const std::string dir = tessera::testing::fresh_dir("method_stopped");
  RecordingEval first_eval;
  const RunResult first = train_until_backward(cfg, dir, one_thread(), 3, first_eval);
  ASSERT_TRUE(first.summary.interrupted);
  expect_resumes_to(cfg, dir, one_thread(), whole, whole_eval);

  study::Config plain = cfg;
  plain.mixback_probability = plain.gain_probability = 0;
  plain.time_mask_probability = plain.freq_mask_probability = 0;
  RecordingEval plain_eval;
  const RunResult unaugmented =
      train(plain, tessera::testing::fresh_dir("method_plain"), one_thread(), plain_eval);
  ASSERT_EQ(unaugmented.steps.size(), whole.steps.size());
  EXPECT_EQ(unaugmented.steps[0][0], whole.steps[0][0]);
  EXPECT_NE(unaugmented.steps[0][2], whole.steps[0][2]) << "the first loss ignores augmentation";
}

// The conv tuner's choices rest on wall-clock timings, so two default bf16
// runs could take different computations and round differently. With a
// plan they cannot: a run writes kernel_plan.json; a second run given it
// trains bit for bit alike (and keeps the plan as given, timings and all,
// instead of tuning again); a run stopped mid-epoch resumes on its own plan
// to the same end. A plan with every choice switched to the other
// computation changes the steps, so the plan is what decides them.
TEST(TrainerTest, Bf16RunsWithTheKernelsOnRepeatBitForBitUnderOnePlan) {
  const study::Config cfg = tiny_config();
  TrainerOptions bf16 = one_thread();
  bf16.precision = Precision::kBf16;
  ASSERT_EQ(bf16.kernels.describe(), "all");
  RecordingEval a_eval;
  const std::string a_dir = tessera::testing::fresh_dir("plan_a");
  const RunResult a = train(cfg, a_dir, bf16, a_eval);
  const std::string plan_path = a_dir + "/kernel_plan.json";
  ASSERT_TRUE(std::filesystem::exists(plan_path));
  const nlohmann::json plan = nlohmann::json::parse(tessera::testing::read_text(plan_path));
  ASSERT_GT(plan["shapes"].size(), 5u);  // the stem and every stage's shapes

  TrainerOptions given = bf16;
  given.kernel_plan = plan_path;
  RecordingEval b_eval;
  const std::string b_dir = tessera::testing::fresh_dir("plan_b");
  const RunResult b = train(cfg, b_dir, given, b_eval);
  expect_same_steps_but_times(b.steps, a.steps);
  EXPECT_EQ(b.epochs, a.epochs);
  EXPECT_TRUE(torch::equal(b_eval.parameters.back(), a_eval.parameters.back()));
  EXPECT_EQ(nlohmann::json::parse(tessera::testing::read_text(b_dir + "/kernel_plan.json")), plan);

  const std::string r_dir = tessera::testing::fresh_dir("plan_resumed");
  RecordingEval first_eval;
  ASSERT_TRUE(train_until_backward(cfg, r_dir, given, 3, first_eval).summary.interrupted);
  EXPECT_EQ(nlohmann::json::parse(tessera::testing::read_text(r_dir + "/kernel_plan.json")), plan);
  expect_resumes_to(cfg, r_dir, bf16, a, a_eval);  // no --kernel-plan: the run's own
  EXPECT_EQ(nlohmann::json::parse(tessera::testing::read_text(r_dir + "/kernel_plan.json")), plan);

  nlohmann::json other = plan;
  int switched = 0;
  for (auto& [key, shape] : other["shapes"].items()) {
    for (auto& [part, choice] : shape.items()) {
      choice["method"] = choice["method"] == "gemm" ? "library" : "gemm";
      ++switched;
    }
  }
  ASSERT_GT(switched, 0);
  const std::string other_path = tessera::testing::fresh_dir("plan_other") + "/plan.json";
  { std::ofstream(other_path) << other.dump(); }
  TrainerOptions switched_plan = bf16;
  switched_plan.kernel_plan = other_path;
  RecordingEval c_eval;
  const RunResult c = train(cfg, tessera::testing::fresh_dir("plan_c"), switched_plan, c_eval);
  ASSERT_EQ(c.steps.size(), a.steps.size());
  EXPECT_FALSE(torch::equal(c_eval.parameters.back(), a_eval.parameters.back()));
}

// A plan that cannot be read stops the run before it writes anything.
TEST(TrainerTest, AnUnreadableKernelPlanLeavesTheRunDirectoryEmpty) {
  const std::string dir = tessera::testing::fresh_dir("plan_bad");
  const std::string bad = dir + "/plan.json";
  {
    std::ofstream(bad) << R"({"format": "tessera-conv-plan", "version": 1, "shapes": )"
                       << R"({"k": {"forward": {"method": "winograd"}}}})";
  }
  TrainerOptions o = one_thread();
  o.precision = Precision::kBf16;
  o.kernel_plan = bad;
  RecordingEval eval;
  try {
    train(tiny_config(), dir + "/run", o, eval);
    FAIL() << "a plan with an unknown method was accepted";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(bad), std::string::npos) << what;
    EXPECT_NE(what.find("unknown method 'winograd'"), std::string::npos) << what;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/run/config.json"));
}

// A checkpoint of the method keys refuses a run with other ones.
TEST(TrainerTest, AResumeWithAnotherObjectiveIsRefused) {
  study::Config cfg = tiny_config();
  cfg.loss = "batch_hard";
  const std::string dir = tessera::testing::fresh_dir("objective_resume");
  RecordingEval first_eval;
  train_until_backward(cfg, dir, one_thread(), 2, first_eval);
  cfg.loss = "semi_hard";
  TrainerOptions resuming = one_thread();
  resuming.resume = true;
  RecordingEval rest_eval;
  try {
    train(cfg, dir, resuming, rest_eval);
    FAIL() << "resumed with another loss";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("loss"), std::string::npos) << e.what();
  }
}

// An unlabelled folder trains while the labelled set evaluates: the
// training store holds the folder's recordings whole (6 to 18 s, in nested
// folders), a file that does not decode is skipped and counted, and the
// evaluation and probe splits are the labelled set's, with their labels.
TEST(TrainerTest, AnUnlabelledFolderTrainsWhileALabelledSetEvaluates) {
  const std::string pool = tessera::testing::fresh_dir("pool");
  std::filesystem::create_directories(pool + "/site_a/day1");
  std::filesystem::create_directories(pool + "/site_b");
  const std::vector<int> seconds = {6, 8, 10, 12, 14, 16, 18};
  for (std::size_t i = 0; i < seconds.size(); ++i) {
    const std::string sub = i % 3 == 0 ? "/site_a/day1/" : i % 3 == 1 ? "/site_b/" : "/";
    tessera::testing::write_mono_wav(
        pool + sub + "rec" + std::to_string(i) + ".wav",
        tessera::testing::sine(150.0 + 90.0 * i, 0.3, 16000, 16000 * seconds[i]));
  }
  tessera::testing::write_text(pool + "/site_b/broken.wav", "not a wav file");
  tessera::testing::write_text(pool + "/site_b/notes.txt", "field notes");
  study::Config cfg = tiny_config();
  cfg.dataset = "FolderDataset";
  cfg.unlabelled_dataset_path = pool;
  cfg.eval_dataset = "DCASEDataset";
  cfg.batch_size = 8;
  cfg.epochs = 1;
  cfg.validate();
  const std::string dir = tessera::testing::fresh_dir("folder_run");
  sampling::RunData data = sampling::RunData::load(study::run_data_options(cfg, dir), 1);
  ASSERT_EQ(data.train->size(), seconds.size());
  int tiles = 0;
  for (std::size_t r = 0; r < data.train->size(); ++r) {
    EXPECT_EQ(data.train->recording(r).label, -1);
    tiles += data.train->tiles(r);
  }
  // N s hold 100 N - 2 frames (480-sample frames every 160 samples), and
  // 2 s tiles of 198 frames start every 200: N / 2 tiles, 3 + 4 + ... + 9.
  EXPECT_EQ(tiles, 42);
  EXPECT_NE(data.dataset.skipped.summary().find("broken.wav"), std::string::npos)
      << data.dataset.skipped.summary();
  ASSERT_TRUE(data.labelled_train);
  EXPECT_EQ(&data.probe_train(), data.labelled_train.get());
  EXPECT_GT(data.eval->size(), 0u);
  for (std::size_t r = 0; r < data.eval->size(); ++r) EXPECT_GE(data.eval->recording(r).label, 0);
  for (std::size_t r = 0; r < data.labelled_train->size(); ++r)
    EXPECT_GE(data.labelled_train->recording(r).label, 0);

  int evaluated_on = 0;
  Trainer trainer(study::training_options(cfg, 1), dir, one_thread(), data,
                  [&](model::ResNet&, int) {
                    evaluated_on = int(data.eval->size());
                    return EpochEval{};
                  });
  const TrainSummary s = trainer.run();
  EXPECT_EQ(s.epochs_run, 1);
  EXPECT_EQ(s.triplets, 42);
  EXPECT_GT(evaluated_on, 0);
}

}  // namespace
}  // namespace tessera::train
