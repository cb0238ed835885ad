// End-to-end test of `tessera sweep` and `tessera report` on synthetic data:
// every promised file, valid non-blank figures, the study's effects, resume.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "tessera/common/atomic_file.h"
#include "tessera/common/csv_log.h"
#include "test_util.h"

namespace tessera {
namespace {

using namespace tessera::testing;

// A PNG: the signature, an IHDR with the image size, and (for a plot, not a
// blank page) enough compressed data: a blank 1000x650 PNG is ~3 KB.
void expect_real_png(const std::string& path) {
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  const std::string b = common::read_file(path);
  ASSERT_GT(b.size(), 24u) << path;
  EXPECT_EQ(b.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path;
  EXPECT_EQ(b.substr(12, 4), "IHDR") << path;
  const unsigned w = (unsigned char)b[16] << 24 | (unsigned char)b[17] << 16 |
                     (unsigned char)b[18] << 8 | (unsigned char)b[19];
  EXPECT_GE(w, 600u) << path;
  EXPECT_GT(b.size(), 15000u) << path << " looks blank";
}

// ctest runs each test in its own process: the first test of a fixture runs
// the sweep into `dir` and records its result; the others (run serially)
// reuse it while its key holds: the tessera binary's and the demo config's
// contents, and the command (which names the keyed dataset).
CommandResult cached_sweep(const std::string& dir, const std::string& command) {
  const std::string stamp = dir + ".result";
  const std::string key = content_key(
      {TESSERA_BINARY, std::string(TESSERA_SOURCE_DIR) + "/configs/demo.json"}, command);
  if (std::filesystem::exists(stamp)) {
    const std::string saved = read_text(stamp);
    const auto nl = saved.find('\n');
    const auto nl2 = saved.find('\n', nl + 1);
    if (saved.substr(0, nl) == key) {
      return {std::stoi(saved.substr(nl + 1, nl2 - nl - 1)), saved.substr(nl2 + 1)};
    }
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const CommandResult r = run_tessera(command);
  write_text(stamp, key + "\n" + std::to_string(r.exit_code) + "\n" + r.output);
  return r;
}

// The cells of one line of a summary CSV, empty ones included.
std::vector<std::string> csv_cells(const std::string& line) {
  std::vector<std::string> cells(1);
  for (char c : line) {
    if (c == ',')
      cells.emplace_back();
    else
      cells.back().push_back(c);
  }
  return cells;
}

// The cells of one summary CSV column, by its header, row by row.
std::vector<std::string> csv_column(const std::string& path, const std::string& name) {
  std::istringstream csv(read_text(path));
  std::string line;
  std::getline(csv, line);
  const auto header = csv_cells(line);
  const auto at = std::find(header.begin(), header.end(), name) - header.begin();
  EXPECT_LT(at, std::ptrdiff_t(header.size())) << name << " in " << line;
  std::vector<std::string> out;
  while (std::getline(csv, line)) {
    const auto cells = csv_cells(line);
    out.push_back(at < std::ptrdiff_t(cells.size()) ? cells[at] : "<missing>");
  }
  return out;
}

// A run's final value of one epochs.csv column.
double final_epoch_value(const std::string& run_dir, const std::string& name) {
  std::vector<std::string> header;
  const auto rows = common::CsvLog::read(run_dir + "/metrics/epochs.csv", &header);
  const auto it = std::find(header.begin(), header.end(), name);
  EXPECT_NE(it, header.end()) << name;
  EXPECT_FALSE(rows.empty()) << run_dir;
  return it == header.end() || rows.empty() ? NAN : rows.back()[it - header.begin()];
}

class CliSweepTest : public ::testing::Test {
 protected:
  // ctest runs each test in its own process: the first one runs the sweep
  // and records its result; the others (run serially) reuse it.
  static void SetUpTestSuite() {
    data_ = shared_synth_dataset(4);
    dir_ = std::string(TESSERA_TEST_TMP) + "/CliSweepTest";
    first_ = cached_sweep(dir_, sweep_cmd());
  }
  static std::string sweep_cmd() {
    return "sweep -c " + std::string(TESSERA_SOURCE_DIR) +
           "/configs/demo.json --set dcase_dataset_path=" + data_ +
           " --set epochs=2 --set batch_size=16 --margins 0.3,1,10 --focus 0.3,1 --jobs 2 --out " +
           dir_ + "/sweep";
  }
  static std::string data_, dir_;
  static CommandResult first_;
};
std::string CliSweepTest::data_, CliSweepTest::dir_;
CommandResult CliSweepTest::first_;

TEST_F(CliSweepTest, WritesEveryPromisedFile) {
  ASSERT_EQ(first_.exit_code, 0) << first_.output;
  EXPECT_NE(first_.output.find("report: "), std::string::npos);
  const std::string s = dir_ + "/sweep";
  for (const char* f :
       {"summary.csv", "summary.json", "report.html", "report.md", "sweep_config.json",
        "margin_0.3/metrics/epochs.csv", "margin_1/eval/epoch_2/embeddings.tsv",
        "margin_10/checkpoints/epoch_0002.pt", "figures/loss_all_margins.svg"}) {
    EXPECT_TRUE(std::filesystem::exists(s + "/" + f)) << f;
  }
  for (const char* f :
       {"loss_all_margins", "loss_selected", "active_fraction", "centroid_distances_margin_0.3",
        "centroid_distances_margin_1", "centroid_distances_margin_10", "embedding_margin_1"}) {
    expect_real_png(s + "/figures/" + f + ".png");
  }
  // The sweep directory is a TensorBoard log directory: one run per margin.
  for (const char* m : {"margin_0.3", "margin_1", "margin_10"}) {
    int files = 0;
    for (const auto& e : std::filesystem::directory_iterator(s + "/" + m + "/tensorboard"))
      files += e.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
    EXPECT_EQ(files, 1) << m;
    EXPECT_TRUE(std::filesystem::exists(s + "/" + m + "/tensorboard/projector_config.pbtxt")) << m;
  }
  const std::string html = common::read_file(s + "/report.html");
  EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
  EXPECT_EQ(html.find("src=\"figures/"), std::string::npos) << "the HTML must be self-contained";
  EXPECT_NE(html.find("Number of Mel bins"), std::string::npos);
  EXPECT_NE(common::read_file(s + "/report.md").find("## Centroid distance matrices"),
            std::string::npos);
}

// The study's effects: margin 10's loss is by far the highest and stays
// above 6 (unit vectors cap d(a,o) - d(a,n) at 4); 0.3's is the lowest; the
// fraction of active triplets grows with the margin.
TEST_F(CliSweepTest, ShowsTheStudysEffects) {
  ASSERT_EQ(first_.exit_code, 0) << first_.output;
  const auto j = nlohmann::json::parse(common::read_file(dir_ + "/sweep/summary.json"));
  const auto& m = j.at("margins");
  ASSERT_EQ(m.size(), 3u);
  auto mean = [&](int i, const char* metric) { return m[i][metric]["mean"].get<double>(); };
  const double l03 = mean(0, "train_triplet_loss"), l1 = mean(1, "train_triplet_loss"),
               l10 = mean(2, "train_triplet_loss");
  EXPECT_GT(l10, 6.0);
  EXPECT_GT(l10, 3 * l1);
  EXPECT_LT(l03, l1);
  EXPECT_LT(mean(0, "active_fraction"), mean(1, "active_fraction"));
  EXPECT_LT(mean(1, "active_fraction"), mean(2, "active_fraction"));
  EXPECT_TRUE(j["recommendation"]["found"].get<bool>());
  EXPECT_NE(j["recommendation"]["margin"].get<double>(), 10.0);
  // Same seed: every margin starts from the same weights and sees the same
  // triplets, so the first step's distances agree across margins.
  const auto a = common::CsvLog::read(dir_ + "/sweep/margin_0.3/metrics/train_steps.csv");
  const auto b = common::CsvLog::read(dir_ + "/sweep/margin_10/metrics/train_steps.csv");
  EXPECT_EQ(a[0][5], b[0][5]) << "dist_neighbour of step 1";
  EXPECT_EQ(a[0][6], b[0][6]) << "dist_opposite of step 1";
}

TEST_F(CliSweepTest, RerunSkipsFinishedMarginsAndReportRebuilds) {
  ASSERT_EQ(first_.exit_code, 0) << first_.output;
  const auto again = run_tessera(sweep_cmd());
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("margin 0.3 is complete; skipped"), std::string::npos)
      << again.output;
  EXPECT_EQ(again.output.find("training margin"), std::string::npos) << again.output;
  std::filesystem::remove(dir_ + "/sweep/report.html");
  std::filesystem::remove_all(dir_ + "/sweep/figures");
  const auto rep = run_tessera("report --sweep-dir " + dir_ + "/sweep");
  ASSERT_EQ(rep.exit_code, 0) << rep.output;
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/sweep/report.html"));
  expect_real_png(dir_ + "/sweep/figures/loss_all_margins.png");
}

// sweep --classify scores every margin's embeddings and the macro-F1 joins
// the summary; a different label protocol redoes the classifiers.
TEST_F(CliSweepTest, ClassifyJoinsTheSummary) {
  ASSERT_EQ(first_.exit_code, 0) << first_.output;
  auto column = [&](const std::string& name) {
    std::vector<double> out;
    for (const auto& cell : csv_column(dir_ + "/sweep/summary.csv", name))
      out.push_back(cell.empty() ? -1.0 : std::stod(cell));
    return out;
  };
  // Start unclassified whatever an earlier run of this test left in the
  // shared sweep, so the first protocol must classify.
  for (const char* m : {"margin_0.3", "margin_1", "margin_10"})
    std::filesystem::remove_all(dir_ + "/sweep/" + m + "/classify");
  std::filesystem::remove_all(dir_ + "/sweep/baselines");
  // Every label first, then the sweep's default: 2 labels per class, 5 draws.
  for (const int k : {0, 2}) {
    const std::string flags =
        k == 0 ? " --classify --classify-labels-per-class 0" : std::string(" --classify");
    const auto r = run_tessera(sweep_cmd() + flags);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("classifying margin 1"), std::string::npos) << flags << r.output;
    EXPECT_NE(r.output.find("classifying the untrained network"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("classifying log-mel statistics"), std::string::npos) << r.output;
    const auto f1 = column("classify_macro_f1_mean");
    ASSERT_EQ(f1.size(), 3u);
    for (double v : f1) {
      EXPECT_GE(v, 0.0) << flags;
      EXPECT_LE(v, 1.0) << flags;
    }
    const auto margin =
        nlohmann::json::parse(common::read_file(dir_ + "/sweep/margin_1/classify/report.json"));
    EXPECT_NEAR(margin["eval"]["macro_f1"].get<double>(), f1[1], 1e-3);
    EXPECT_EQ(margin["draws"].get<int>(), k == 0 ? 1 : 5);
    const auto summary = nlohmann::json::parse(common::read_file(dir_ + "/sweep/summary.json"));
    EXPECT_EQ(summary["margins"][1]["runs"][0]["classify_labels_per_class"].get<int>(), k);
    // Both baselines, scored once with the margins' protocol, and the same
    // numbers as their own reports.
    const auto& baselines = summary["baselines"];
    ASSERT_EQ(baselines.size(), 2u) << summary.dump();
    const char* folders[] = {"untrained", "logmel_stats"};
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(baselines[i]["baseline"], folders[i]);
      EXPECT_EQ(baselines[i]["runs"], 1);
      EXPECT_EQ(baselines[i]["labels_per_class"], k);
      const auto own = nlohmann::json::parse(
          common::read_file(dir_ + "/sweep/baselines/" + folders[i] + "/report.json"));
      EXPECT_NEAR(baselines[i]["classify_macro_f1"]["mean"].get<double>(),
                  own["eval"]["macro_f1"].get<double>(), 1e-9);
    }
    EXPECT_NE(common::read_file(dir_ + "/sweep/report.md").find("### Baselines"),
              std::string::npos);
  }
  // The same protocol again: nothing to redo.
  const auto again = run_tessera(sweep_cmd() + " --classify");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.output.find("classifying"), std::string::npos) << again.output;
}

// Without --seeds: today's layout (margin_<m>/ holds the run), one
// summary_seeds.csv row per margin equal to that run's last epoch,
// summary.csv's means equal to it with empty intervals, and a verdict that
// says no uncertainty was measured.
TEST_F(CliSweepTest, OneSeedKeepsTheLayoutAndSaysNoUncertaintyWasMeasured) {
  ASSERT_EQ(first_.exit_code, 0) << first_.output;
  const std::string s = dir_ + "/sweep";
  for (const auto& e : std::filesystem::recursive_directory_iterator(s))
    EXPECT_NE(e.path().filename().string().rfind("seed_", 0), 0u) << e.path();
  const auto cv_mean = csv_column(s + "/summary.csv", "centroid_cv_mean");
  const auto cv_std = csv_column(s + "/summary.csv", "centroid_cv_std");
  const auto cv_lo = csv_column(s + "/summary.csv", "centroid_cv_lo");
  const auto seeds = csv_column(s + "/summary.csv", "seeds");
  const auto per_run = csv_column(s + "/summary_seeds.csv", "centroid_cv");
  const auto per_run_seed = csv_column(s + "/summary_seeds.csv", "seed");
  ASSERT_EQ(cv_mean.size(), 3u);
  ASSERT_EQ(per_run.size(), 3u);
  const char* margins[] = {"margin_0.3", "margin_1", "margin_10"};
  for (int i = 0; i < 3; ++i) {
    const double run = final_epoch_value(s + "/" + margins[i], "centroid_cv");
    EXPECT_NEAR(std::stod(cv_mean[i]), run, 1e-5 * run) << margins[i];
    EXPECT_NEAR(std::stod(per_run[i]), run, 1e-5 * run) << margins[i];
    EXPECT_EQ(per_run_seed[i], "42") << margins[i];
    EXPECT_EQ(seeds[i], "1");
    EXPECT_EQ(cv_std[i], "") << "one seed has no spread";
    EXPECT_EQ(cv_lo[i], "");
  }
  const auto j = nlohmann::json::parse(common::read_file(s + "/summary.json"));
  EXPECT_FALSE(j["recommendation"]["uncertainty_measured"].get<bool>());
  EXPECT_TRUE(j["tied_with"].empty());
  EXPECT_NE(j["recommendation"]["reason"].get<std::string>().find("No uncertainty was measured"),
            std::string::npos);
  EXPECT_NE(common::read_file(s + "/report.md").find("no uncertainty was measured"),
            std::string::npos);
}

// A one-seed sweep continued with --seeds 2 would mix two layouts: refused,
// naming the directory, before anything is trained or rewritten.
TEST_F(CliSweepTest, SeedsOnAOneSeedSweepIsRefused) {
  ASSERT_EQ(first_.exit_code, 0) << first_.output;
  const std::string summary = common::read_file(dir_ + "/sweep/summary.json");
  const auto r = run_tessera(sweep_cmd() + " --seeds 2");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(dir_ + "/sweep/margin_0.3' holds a one-seed run"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("training margin"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/sweep/margin_0.3/seed_42"));
  EXPECT_EQ(common::read_file(dir_ + "/sweep/summary.json"), summary);
}

TEST_F(CliSweepTest, ReportOnEmptyDirectoryIsAClearError) {
  const std::string empty = fresh_dir();
  const auto r = run_tessera("report --sweep-dir " + empty);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("no trained margin_* directories"), std::string::npos) << r.output;
}

std::string seeds_sweep_cmd(const std::string& data, const std::string& out) {
  return "sweep -c " + std::string(TESSERA_SOURCE_DIR) +
         "/configs/demo.json --set dcase_dataset_path=" + data +
         " --set epochs=2 --set batch_size=16 --margins 0.3,1 --focus 0.3,1 --seeds 2 --jobs 2 "
         "--out " +
         out;
}

class CliSweepSeedsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::string(TESSERA_TEST_TMP) + "/CliSweepSeedsTest";
    first_ = cached_sweep(dir_, seeds_sweep_cmd(shared_synth_dataset(4), dir_ + "/sweep"));
  }
  static std::string dir_;
  static CommandResult first_;
};
std::string CliSweepSeedsTest::dir_;
CommandResult CliSweepSeedsTest::first_;

// Two seeds per margin: margin_<m>/seed_<s>/ runs; a seed gives every margin
// the same start and a different one from the other seed; summary.csv's mean,
// std and 95% interval are those of the two runs' final values, read here
// from their own epochs.csv; every margin is either the winner, tied with
// it, worse, or excluded.
TEST_F(CliSweepSeedsTest, EveryMetricHasAnIntervalOverTheSeeds) {
  ASSERT_EQ(first_.exit_code, 0) << first_.output;
  const std::string s = dir_ + "/sweep";
  // The seed: same start across margins, a different start across seeds.
  const auto a = common::CsvLog::read(s + "/margin_0.3/seed_42/metrics/train_steps.csv");
  const auto b = common::CsvLog::read(s + "/margin_1/seed_42/metrics/train_steps.csv");
  const auto c = common::CsvLog::read(s + "/margin_1/seed_43/metrics/train_steps.csv");
  EXPECT_EQ(a[0][5], b[0][5]) << "dist_neighbour of step 1, seed 42";
  EXPECT_NE(b[0][5], c[0][5]) << "dist_neighbour of step 1, seeds 42 and 43";

  const char* margins[] = {"margin_0.3", "margin_1"};
  const auto seeds = csv_column(s + "/summary.csv", "seeds");
  ASSERT_EQ(seeds.size(), 2u);
  for (const char* metric : {"centroid_cv", "silhouette", "map_at_r"}) {
    const auto mean = csv_column(s + "/summary.csv", std::string(metric) + "_mean");
    const auto sd = csv_column(s + "/summary.csv", std::string(metric) + "_std");
    const auto lo = csv_column(s + "/summary.csv", std::string(metric) + "_lo");
    const auto hi = csv_column(s + "/summary.csv", std::string(metric) + "_hi");
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(seeds[i], "2");
      const double x = final_epoch_value(s + "/" + margins[i] + "/seed_42", metric);
      const double y = final_epoch_value(s + "/" + margins[i] + "/seed_43", metric);
      const double m = (x + y) / 2, d = std::fabs(x - y) / std::sqrt(2.0);
      // Two values: t_{0.975,1} = 12.7062, half-width 12.7062 * d / sqrt(2).
      const double half = 12.7062047 * d / std::sqrt(2.0);
      const double tol = 1e-5 * (std::fabs(m) + half) + 1e-9;
      EXPECT_NEAR(std::stod(mean[i]), m, tol) << metric << " " << margins[i];
      EXPECT_NEAR(std::stod(sd[i]), d, tol) << metric << " " << margins[i];
      EXPECT_NEAR(std::stod(lo[i]), m - half, tol) << metric << " " << margins[i];
      EXPECT_NEAR(std::stod(hi[i]), m + half, tol) << metric << " " << margins[i];
    }
  }
  EXPECT_EQ(csv_column(s + "/summary_seeds.csv", "seed"),
            (std::vector<std::string>{"42", "43", "42", "43"}));

  const auto j = nlohmann::json::parse(common::read_file(s + "/summary.json"));
  const auto& rec = j["recommendation"];
  std::vector<double> placed;
  if (rec["found"].get<bool>()) placed.push_back(j["recommended_margin"].get<double>());
  for (const auto& m : j["tied_with"]) placed.push_back(m.get<double>());
  for (const auto& m : rec["worse"]) placed.push_back(m.get<double>());
  for (const auto& e : rec["excluded"])
    placed.push_back(std::stod(e.get<std::string>().substr(7)));  // "margin 0.3: ..."
  std::sort(placed.begin(), placed.end());
  EXPECT_EQ(placed, (std::vector<double>{0.3, 1.0})) << rec.dump();
  EXPECT_TRUE(rec["uncertainty_measured"].get<bool>() || !rec["found"].get<bool>());
  expect_real_png(s + "/figures/centroid_cv.png");
  expect_real_png(s + "/figures/loss_all_margins.png");
  expect_real_png(s + "/figures/centroid_distances_margin_1.png");
  const std::string md = common::read_file(s + "/report.md");
  EXPECT_NE(md.find("95% Student-t interval"), std::string::npos);
  EXPECT_NE(md.find("### Every run"), std::string::npos);
}

// A metric undefined for a run (here MAP@R, set to NaN in a copy of the
// sweep, as the trainer writes it when no eval tile has a same-label tile in
// another recording) is left out of its margin's mean, and a margin where it
// is undefined for every seed gets an empty cell and the reason, never 0.
TEST_F(CliSweepSeedsTest, UndefinedMetricIsEmptyWithItsReason) {
  ASSERT_EQ(first_.exit_code, 0) << first_.output;
  const std::string copy = fresh_dir() + "/sweep";
  std::filesystem::copy(dir_ + "/sweep", copy, std::filesystem::copy_options::recursive);
  std::filesystem::remove_all(copy + "/figures");
  auto set_nan = [&](const std::string& run) {
    const std::string path = copy + "/" + run + "/metrics/epochs.csv";
    std::istringstream in(read_text(path));
    std::string line, out;
    std::getline(in, line);
    const auto header = csv_cells(line);
    const auto at = std::find(header.begin(), header.end(), "map_at_r") - header.begin();
    out = line + "\n";
    while (std::getline(in, line)) {
      auto cells = csv_cells(line);
      cells[at] = "nan";
      for (std::size_t i = 0; i < cells.size(); ++i) out += (i ? "," : "") + cells[i];
      out += "\n";
    }
    write_text(path, out);
  };
  set_nan("margin_0.3/seed_42");
  set_nan("margin_0.3/seed_43");
  set_nan("margin_1/seed_43");
  const auto r = run_tessera("report --sweep-dir " + copy);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto mean = csv_column(copy + "/summary.csv", "map_at_r_mean");
  const auto sd = csv_column(copy + "/summary.csv", "map_at_r_std");
  ASSERT_EQ(mean.size(), 2u);
  EXPECT_EQ(mean[0], "") << "margin 0.3: undefined for both seeds";
  const double seed42 = final_epoch_value(copy + "/margin_1/seed_42", "map_at_r");
  EXPECT_NEAR(std::stod(mean[1]), seed42, 1e-5 * seed42) << "margin 1: seed 42's alone";
  EXPECT_EQ(sd[1], "") << "one defined value has no spread";
  const auto j = nlohmann::json::parse(common::read_file(copy + "/summary.json"));
  EXPECT_TRUE(j["margins"][0]["map_at_r"]["mean"].is_null());
  EXPECT_EQ(j["margins"][1]["map_at_r"]["n"].get<int>(), 1);
  const std::string md = common::read_file(copy + "/report.md");
  EXPECT_NE(md.find("MAP@R, margin 0.3: no evaluation tile has a tile of its label in another "
                    "recording"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("MAP@R, margin 1 (1 of 2 seeds): "), std::string::npos) << md;
  EXPECT_EQ(md.find("MAP@R, margin 1:"), std::string::npos);
}

// A two-seed sweep resumed after a run was lost whole (between runs) and
// after one stopped inside its second epoch: only those runs train again,
// the one inside resumes from its checkpoint, and it ends where the
// uninterrupted run ended.
TEST(CliSweepSeedsResumeTest, ResumesBetweenAndInsideRuns) {
  const std::string dir = fresh_dir(), s = dir + "/sweep";
  const std::string cmd = seeds_sweep_cmd(shared_synth_dataset(4), s);
  const auto first = run_tessera(cmd);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const std::string inside = s + "/margin_1/seed_43", lost = s + "/margin_0.3/seed_43";
  const std::string epochs = read_text(inside + "/metrics/epochs.csv");
  const std::string lost_epochs = read_text(lost + "/metrics/epochs.csv");

  std::filesystem::remove_all(lost);
  // Inside: the epoch-2 checkpoint and the epoch-2 row are gone, as after a
  // kill during epoch 2.
  std::filesystem::remove(inside + "/checkpoints/epoch_0002.pt");
  write_text(inside + "/metrics/epochs.csv",
             epochs.substr(0, epochs.rfind('\n', epochs.size() - 2) + 1));
  ASSERT_EQ(common::CsvLog::read(inside + "/metrics/epochs.csv").size(), 1u);

  const auto again = run_tessera(cmd);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("margin 0.3 seed 42 is complete; skipped"), std::string::npos)
      << again.output;
  EXPECT_NE(again.output.find("margin 1 seed 42 is complete; skipped"), std::string::npos);
  EXPECT_NE(again.output.find("training margin 0.3 seed 43"), std::string::npos);
  EXPECT_NE(again.output.find("training margin 1 seed 43"), std::string::npos);
  EXPECT_EQ(again.output.find("training margin 1 seed 42"), std::string::npos);
  EXPECT_NE(read_text(inside + "/train.log").find("resuming from"), std::string::npos);
  EXPECT_EQ(read_text(inside + "/metrics/epochs.csv"), epochs);
  EXPECT_EQ(read_text(lost + "/metrics/epochs.csv"), lost_epochs);
}

}  // namespace
}  // namespace tessera
