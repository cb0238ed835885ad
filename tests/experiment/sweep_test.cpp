// run_sweep as a library call: runs trained in this process (no worker
// command), and worker processes that receive each run's request and whose
// failures come back with their logs. Two margins of the demo config's
// model, one epoch at batch 16, on the shared synthetic dataset.
#include "tessera/experiment/sweep.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tessera/experiment/sweep_results.h"
#include "test_util.h"

namespace tessera::experiment {
namespace {
namespace fs = std::filesystem;

study::Config tiny_config() {
  return tessera::testing::demo_config_on_shared_data(1);
}

SweepOptions two_margins() {
  SweepOptions o;
  o.margins = {0.5, 1.0};
  o.focus = {0.5, 1.0};
  o.threads = 1;
  o.tensorboard = false;
  return o;
}

TEST(SweepTest, WithoutAWorkerEveryRunTrainsInThisProcess) {
  const std::string dir = tessera::testing::fresh_dir();
  const SweepOptions o = two_margins();
  run_sweep(tiny_config(), dir, o);
  for (double m : o.margins) {
    const std::string run = dir + "/" + margin_dir_name(m);
    const MarginRun r = read_margin_run(run, m);
    EXPECT_EQ(r.epochs_done, 1) << run;
    EXPECT_EQ(study::Config::load(run + "/config.json").margin, m) << run;
    EXPECT_FALSE(fs::exists(run + "/train.log")) << "a worker log in " << run;
  }
  EXPECT_TRUE(fs::exists(dir + "/report.html"));
  EXPECT_TRUE(fs::exists(dir + "/summary.csv"));
  // Trained again, the complete runs are skipped: their files stay as they were.
  const std::string epochs = dir + "/" + margin_dir_name(0.5) + "/metrics/epochs.csv";
  const auto written = fs::last_write_time(epochs);
  run_sweep(tiny_config(), dir, o);
  EXPECT_EQ(fs::last_write_time(epochs), written);
}

TEST(SweepTest, WorkersGetEachRunAndTheirFailuresComeBackWithTheirLog) {
  const std::string dir = tessera::testing::fresh_dir();
  SweepOptions o = two_margins();
  o.jobs = 2;
  o.threads = 2;
  std::vector<SweepRun> asked;
  o.worker_command = [&](const SweepRun& run, const SweepOptions&) {
    asked.push_back(run);
    return std::vector<std::string>{
        "/bin/sh", "-c", "echo worker refuses margin " + std::to_string(run.margin) + "; exit 7"};
  };
  try {
    run_sweep(tiny_config(), dir, o);
    FAIL() << "failed workers were not reported";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("2 run(s) failed"), std::string::npos) << what;
    EXPECT_NE(what.find("status 7"), std::string::npos) << what;
    EXPECT_NE(what.find("worker refuses margin 0.5"), std::string::npos) << what;
    EXPECT_NE(what.find("worker refuses margin 1.0"), std::string::npos) << what;
  }
  ASSERT_EQ(asked.size(), 2u);
  for (std::size_t i = 0; i < asked.size(); ++i) {
    const SweepRun& run = asked[i];
    EXPECT_EQ(run.margin, o.margins[i]);
    EXPECT_EQ(run.seed, tiny_config().random_seed);
    EXPECT_EQ(run.threads, 1);  // two jobs share the two threads
    EXPECT_EQ(run.run_dir, fs::absolute(dir).string() + "/" + margin_dir_name(run.margin));
    const study::Config c = study::Config::load(run.config_path);
    EXPECT_EQ(c.margin, run.margin);
    EXPECT_EQ(c.epochs, 1);
  }
  EXPECT_FALSE(fs::exists(dir + "/report.html"));
}

TEST(SweepTest, SeveralJobsNeedAWorker) {
  SweepOptions o = two_margins();
  o.jobs = 2;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o.worker_command = [](const SweepRun&, const SweepOptions&) {
    return std::vector<std::string>{"/bin/true"};
  };
  EXPECT_NO_THROW(o.validate());
}

// --cuda-graph is checked before any run starts: on the CPU it is refused
// as train would refuse it in every run.
TEST(SweepTest, ACudaGraphIsCheckedBeforeAnyRun) {
  SweepOptions o = two_margins();
  o.cuda_graph = true;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o.device = "cuda";
  EXPECT_NO_THROW(o.validate());
}

}  // namespace
}  // namespace tessera::experiment
