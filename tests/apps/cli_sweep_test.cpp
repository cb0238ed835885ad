// End-to-end test of `tessera sweep` and `tessera report` on synthetic data:
// every promised file, valid non-blank figures, the study's effects, resume.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sstream>

#include "tessera/common/atomic_file.h"
#include "tessera/train/csv_log.h"
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

class CliSweepTest : public ::testing::Test {
 protected:
  // ctest runs each test in its own process: the first one runs the sweep
  // and records its result; the others (run serially) reuse it.
  static void SetUpTestSuite() {
    data_ = shared_synth_dataset(4);
    dir_ = std::string(TESSERA_TEST_TMP) + "/CliSweepTest";
    const std::string stamp = std::string(TESSERA_TEST_TMP) + "/CliSweepTest.result";
    const std::string binary_stamp =
        std::to_string(std::filesystem::last_write_time(TESSERA_BINARY).time_since_epoch().count());
    if (std::filesystem::exists(stamp)) {
      const std::string saved = read_text(stamp);
      const auto nl = saved.find('\n');
      const auto nl2 = saved.find('\n', nl + 1);
      if (saved.substr(0, nl) == binary_stamp) {
        first_.exit_code = std::stoi(saved.substr(nl + 1, nl2 - nl - 1));
        first_.output = saved.substr(nl2 + 1);
        return;
      }
    }
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    first_ = run_tessera(sweep_cmd());
    write_text(stamp,
               binary_stamp + "\n" + std::to_string(first_.exit_code) + "\n" + first_.output);
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
  const double l03 = m[0]["train_triplet_loss"], l1 = m[1]["train_triplet_loss"],
               l10 = m[2]["train_triplet_loss"];
  EXPECT_GT(l10, 6.0);
  EXPECT_GT(l10, 3 * l1);
  EXPECT_LT(l03, l1);
  EXPECT_LT(m[0]["active_fraction"].get<double>(), m[1]["active_fraction"].get<double>());
  EXPECT_LT(m[1]["active_fraction"].get<double>(), m[2]["active_fraction"].get<double>());
  EXPECT_TRUE(j["recommendation"]["found"].get<bool>());
  EXPECT_NE(j["recommendation"]["margin"].get<double>(), 10.0);
  // Same seed: every margin starts from the same weights and sees the same
  // triplets, so the first step's distances agree across margins.
  const auto a = train::CsvLog::read(dir_ + "/sweep/margin_0.3/metrics/train_steps.csv");
  const auto b = train::CsvLog::read(dir_ + "/sweep/margin_10/metrics/train_steps.csv");
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
  // One column of summary.csv, by its header.
  auto column = [&](const std::string& name) {
    std::istringstream csv(read_text(dir_ + "/sweep/summary.csv"));
    std::string line, cell;
    std::getline(csv, line);
    int at = -1, i = 0;
    for (std::istringstream h(line); std::getline(h, cell, ','); ++i)
      if (cell == name) at = i;
    EXPECT_GE(at, 0) << name << " in " << line;
    std::vector<double> out;
    while (std::getline(csv, line)) {
      std::istringstream r(line);
      for (int k = 0; std::getline(r, cell, ','); ++k)
        if (k == at) out.push_back(cell.empty() ? -1.0 : std::stod(cell));
    }
    return out;
  };
  for (const char* flags : {" --classify", " --classify --classify-labels-per-class 2"}) {
    const auto r = run_tessera(sweep_cmd() + flags);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("classifying margin 1"), std::string::npos) << flags << r.output;
    const auto f1 = column("classify_macro_f1");
    ASSERT_EQ(f1.size(), 3u);
    for (double v : f1) {
      EXPECT_GE(v, 0.0) << flags;
      EXPECT_LE(v, 1.0) << flags;
    }
    const auto margin =
        nlohmann::json::parse(common::read_file(dir_ + "/sweep/margin_1/classify/report.json"));
    EXPECT_NEAR(margin["eval"]["macro_f1"].get<double>(), f1[1], 1e-3);
    const auto summary = nlohmann::json::parse(common::read_file(dir_ + "/sweep/summary.json"));
    EXPECT_EQ(summary["margins"][1]["classify_labels_per_class"].get<int>(),
              std::string(flags).find("labels") == std::string::npos ? 0 : 2);
  }
  // The same protocol again: nothing to redo.
  const auto again = run_tessera(sweep_cmd() + " --classify --classify-labels-per-class 2");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.output.find("classifying margin"), std::string::npos) << again.output;
}

TEST_F(CliSweepTest, ReportOnEmptyDirectoryIsAClearError) {
  const std::string empty = fresh_dir();
  const auto r = run_tessera("report --sweep-dir " + empty);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("no trained margin_* directories"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tessera
