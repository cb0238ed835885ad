// build_report on a real two-margin, two-seed sweep trained in this process
// (demo model, one epoch at batch 16). The report's numbers are checked
// against the runs' own files, read here: each margin's centroid_cv cell is
// the interval of its two runs' epochs.csv values, the centroid matrix is
// the mean of the two runs' eval/epoch_1/centroid_distances.csv, and the
// verdict is the one summary.json states.
#include "tessera/experiment/report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tessera/experiment/interval.h"
#include "tessera/experiment/sweep.h"
#include "tessera/experiment/sweep_results.h"
#include "test_util.h"

namespace tessera::experiment {
namespace {
namespace fs = std::filesystem;
using tessera::testing::read_text;

std::vector<std::vector<std::string>> csv(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    rows.emplace_back();
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) rows.back().push_back(cell);
  }
  return rows;
}

// The value of `column` in the last row of a run's epochs.csv.
double last_epoch(const std::string& run, const std::string& column) {
  const auto rows = csv(run + "/metrics/epochs.csv");
  const auto& header = rows.front();
  const auto at = std::find(header.begin(), header.end(), column) - header.begin();
  return std::stod(rows.back()[std::size_t(at)]);
}

// A markdown table row's cells, for the row that starts with `first`.
std::vector<std::string> md_row(const std::string& md, const std::string& first) {
  const std::size_t at = md.find("\n| " + first + " |");
  if (at == std::string::npos) return {};
  const std::string line = md.substr(at + 1, md.find('\n', at + 1) - at - 1);
  std::vector<std::string> cells;
  std::stringstream ss(line.substr(1));
  for (std::string cell; std::getline(ss, cell, '|');) {
    const auto b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
    cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  return cells;
}

class ReportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // No test is running yet, so fresh_dir cannot name the folder.
    dir_ = std::string(TESSERA_TEST_TMP) + "/ReportTest.sweep";
    fs::remove_all(dir_);
    study::Config c = tessera::testing::demo_config_on_shared_data(1);
    c.gen_count = 0;  // one per core; the count changes no result
    SweepOptions o;
    o.margins = {0.5, 1.0};
    o.focus = {0.5};
    o.seeds = 2;
    o.threads = 1;
    o.tensorboard = false;
    run_sweep(c, dir_, o);
  }
  static std::string run(double margin, int seed) {
    return dir_ + "/" + margin_dir_name(margin) + "/" + seed_dir_name(seed);
  }
  static std::string dir_;
};
std::string ReportTest::dir_;

TEST_F(ReportTest, TheSummaryRowsAreTheRunsIntervals) {
  const std::string md = read_text(dir_ + "/report.md");
  for (double m : {0.5, 1.0}) {
    const std::string name = m == 0.5 ? "0.5" : "1";
    const auto row = md_row(md, name);
    ASSERT_GE(row.size(), 11u) << "no summary row for margin " << name << "\n" << md;
    EXPECT_EQ(row[1], "2");  // seeds
    const Interval cv = mean_interval(
        {last_epoch(run(m, 42), "centroid_cv"), last_epoch(run(m, 43), "centroid_cv")});
    EXPECT_EQ(row[10], format_interval(cv, "%.3f")) << "margin " << name;
  }
  EXPECT_EQ(md_row(md, "Batch size"), (std::vector<std::string>{"Batch size", "16"}));
  EXPECT_EQ(md_row(md, "Random seeds"), (std::vector<std::string>{"Random seeds", "42, 43"}));
  // "Every run": one row per (margin, seed), with that run's centroid_cv.
  const std::size_t every = md.find("### Every run");
  ASSERT_NE(every, std::string::npos);
  for (double m : {0.5, 1.0}) {
    for (int seed : {42, 43}) {
      char first[48], cv[32];
      std::snprintf(first, sizeof first, "%g | %d", m, seed);
      std::snprintf(cv, sizeof cv, "%.3f", last_epoch(run(m, seed), "centroid_cv"));
      const auto row = md_row(md.substr(every), first);
      ASSERT_GE(row.size(), 7u) << "no row for " << first;
      EXPECT_EQ(row[6], cv) << first;
    }
  }
}

TEST_F(ReportTest, TheVerdictIsTheSummarysAndTheMatrixIsTheSeedMean) {
  const std::string md = read_text(dir_ + "/report.md");
  const nlohmann::json summary = nlohmann::json::parse(read_text(dir_ + "/summary.json"));
  if (summary["recommended_margin"].is_null()) {
    EXPECT_NE(md.find("No margin recommended."), std::string::npos);
  } else {
    char expected[64];
    std::snprintf(expected, sizeof expected, "Recommended margin: %g.",
                  summary["recommended_margin"].get<double>());
    EXPECT_NE(md.find(expected), std::string::npos) << md.substr(0, 800);
  }
  // margin 1's matrix: the first label's row, as the mean of both seeds'.
  const auto a = csv(run(1.0, 42) + "/eval/epoch_1/centroid_distances.csv");
  const auto b = csv(run(1.0, 43) + "/eval/epoch_1/centroid_distances.csv");
  const std::string label = a[1][0];
  const std::size_t section = md.find("### margin 1 (mean of 2 seeds)");
  ASSERT_NE(section, std::string::npos);
  const auto row = md_row(md.substr(section), label);
  ASSERT_EQ(row.size(), a[1].size());
  for (std::size_t j = 1; j < row.size(); ++j) {
    char mean[32];
    std::snprintf(mean, sizeof mean, "%.3f", 0.5 * (std::stod(a[1][j]) + std::stod(b[1][j])));
    EXPECT_EQ(row[j], mean) << label << " column " << j;
  }
}

TEST_F(ReportTest, EveryFigureIsLinkedAndEmbeddedAndARebuildIsIdentical) {
  const std::string md = read_text(dir_ + "/report.md");
  const std::string html = read_text(dir_ + "/report.html");
  int figures = 0;
  for (const auto& e : fs::directory_iterator(dir_ + "/figures")) {
    if (e.path().extension() != ".png") continue;
    ++figures;
    EXPECT_NE(md.find("figures/" + e.path().filename().string()), std::string::npos)
        << e.path() << " is not in the report";
  }
  // Figures 1 and 2, centroid_cv, active fraction, a matrix and a scatter per margin.
  EXPECT_EQ(figures, 4 + 2 * 2);
  std::size_t embedded = 0;
  for (std::size_t at = html.find("data:image/png;base64,"); at != std::string::npos;
       at = html.find("data:image/png;base64,", at + 1))
    ++embedded;
  EXPECT_EQ(embedded, std::size_t(figures));
  ReportOptions o;
  o.focus = {0.5};
  build_report(dir_, o);
  EXPECT_EQ(read_text(dir_ + "/report.md"), md);
}

// Worker counts of 0 read as what they mean.
TEST_F(ReportTest, AWorkerCountOfZeroReadsAsOnePerCore) {
  const std::string md = read_text(dir_ + "/report.md");
  EXPECT_EQ(md_row(md, "Number of generators"),
            (std::vector<std::string>{"Number of generators", "0 (one per core)"}));
  EXPECT_EQ(md_row(md, "Number of parallel calls"),
            (std::vector<std::string>{"Number of parallel calls", "2"}));
}

}  // namespace
}  // namespace tessera::experiment
