// The sweep's summary over seeds and its recommendation rule, on
// constructed runs whose answers are worked by hand.
#include "tessera/experiment/sweep_results.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tessera/common/atomic_file.h"

namespace tessera::experiment {
namespace {

MarginRun run(double margin, double active, double cv, double silhouette, int seed = 42) {
  MarginRun r;
  r.margin = margin;
  r.seed = seed;
  r.active_fraction = active;
  r.centroid_cv = cv;
  r.silhouette = silhouette;
  return r;
}

// One seed per margin, as a sweep without --seeds.
Recommendation recommend(const std::vector<MarginRun>& runs, const RecommendationRule& rule) {
  return experiment::recommend(summarise(runs), rule);
}

// Three seeds of a margin whose centroid_cv is centre - d, centre, centre + d:
// the mean is centre and the 95% t half-width d * t_{0.975,2} / sqrt(3) =
// d * 2.4841 (std = d).
std::vector<MarginRun> three_seeds(double margin, double centre, double d, double active = 0.3) {
  return {run(margin, active, centre - d, 0.5, 1), run(margin, active, centre, 0.5, 2),
          run(margin, active, centre + d, 0.5, 3)};
}

std::vector<MarginRun> join(std::initializer_list<std::vector<MarginRun>> parts) {
  std::vector<MarginRun> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(RecommendationTest, ExcludesUnsatisfiableAndCollapsedMargins) {
  // 0.3 has the lowest cv but learned nothing; 10 can never be satisfied.
  const std::vector<MarginRun> runs = {run(0.3, 0.001, 0.05, 0.5), run(0.5, 0.2, 0.30, 0.5),
                                       run(1.0, 0.3, 0.12, 0.4), run(2.0, 0.6, 0.20, 0.6),
                                       run(10.0, 1.0, 0.01, 0.9)};
  const Recommendation rec = recommend(runs, RecommendationRule{});
  ASSERT_TRUE(rec.found);
  EXPECT_EQ(rec.margin, 1.0);
  ASSERT_EQ(rec.excluded.size(), 2u);
  EXPECT_NE(rec.excluded[0].find("margin 0.3: active fraction"), std::string::npos)
      << rec.excluded[0];
  EXPECT_NE(rec.excluded[1].find("margin 10: cannot be satisfied"), std::string::npos)
      << rec.excluded[1];
  EXPECT_NE(rec.reason.find("margin 1 spreads"), std::string::npos) << rec.reason;
  EXPECT_FALSE(rec.uncertainty_measured);
  EXPECT_NE(rec.reason.find("No uncertainty was measured"), std::string::npos) << rec.reason;
  EXPECT_TRUE(rec.tied_with.empty());
}

TEST(RecommendationTest, SilhouetteBreaksCvTies) {
  const std::vector<MarginRun> runs = {run(0.5, 0.2, 0.200, 0.40), run(0.7, 0.3, 0.205, 0.55),
                                       run(1.0, 0.3, 0.30, 0.9)};
  EXPECT_EQ(recommend(runs, RecommendationRule{}).margin, 0.7);
  RecommendationRule strict;
  strict.cv_tie_tolerance = 0.0;
  EXPECT_EQ(recommend(runs, strict).margin, 0.5);
}

TEST(RecommendationTest, ThresholdsAreConfigurable) {
  const std::vector<MarginRun> runs = {run(0.3, 0.01, 0.1, 0.5), run(5.0, 0.9, 0.05, 0.5)};
  RecommendationRule rule;
  rule.min_active_fraction = 0.005;
  rule.max_satisfiable_margin = 6;
  EXPECT_EQ(recommend(runs, rule).margin, 5.0);
}

TEST(RecommendationTest, NothingLeftIsSaidPlainly) {
  const Recommendation rec = recommend({run(10, 1, 0.1, 0.1)}, RecommendationRule{});
  EXPECT_FALSE(rec.found);
  EXPECT_NE(rec.reason.find("every margin was excluded"), std::string::npos);
}

TEST(RecommendationTest, MarginDirectoryNames) {
  EXPECT_EQ(margin_dir_name(0.3), "margin_0.3");
  EXPECT_EQ(margin_dir_name(1.0), "margin_1");
  EXPECT_EQ(margin_dir_name(10), "margin_10");
  EXPECT_EQ(seed_dir_name(43), "seed_43");
}

// Half-widths 0.01 * 2.4841 = 0.0248: 1.0 at 0.30 [0.275, 0.325] is clear of
// 0.7 at 0.40 [0.375, 0.425] and 0.5 at 0.50.
TEST(SeedVerdictTest, AClearWinner) {
  const auto runs = join(
      {three_seeds(0.5, 0.50, 0.01), three_seeds(0.7, 0.40, 0.01), three_seeds(1.0, 0.30, 0.01)});
  const Recommendation rec = experiment::recommend(summarise(runs), RecommendationRule{});
  ASSERT_TRUE(rec.found);
  EXPECT_TRUE(rec.uncertainty_measured);
  EXPECT_EQ(rec.margin, 1.0);
  EXPECT_TRUE(rec.tied_with.empty());
  EXPECT_EQ(rec.worse, (std::vector<double>{0.5, 0.7}));
  EXPECT_NEAR(rec.centroid_cv.mean, 0.30, 1e-12);
  EXPECT_NEAR(rec.centroid_cv.half_width(), 0.01 * 4.302653 / std::sqrt(3.0), 1e-6);
  EXPECT_NE(rec.reason.find("margin 1 (centroid_cv 0.300 ± 0.025"), std::string::npos)
      << rec.reason;
  EXPECT_NE(rec.reason.find("0.5 and 0.7 are worse"), std::string::npos) << rec.reason;
}

// 1.0 at 0.30 ± 0.0745 (d 0.03) overlaps 0.7 at 0.34 ± 0.0745 and 0.5 at
// 0.36 ± 0.0248 (lower end 0.335 < 0.3745); 2.0 at 0.50 ± 0.0248 is clear.
TEST(SeedVerdictTest, AThreeWayTie) {
  const auto runs = join({three_seeds(0.5, 0.36, 0.01), three_seeds(0.7, 0.34, 0.03),
                          three_seeds(1.0, 0.30, 0.03), three_seeds(2.0, 0.50, 0.01)});
  const Recommendation rec = experiment::recommend(summarise(runs), RecommendationRule{});
  ASSERT_TRUE(rec.found);
  EXPECT_EQ(rec.margin, 1.0);
  EXPECT_EQ(rec.tied_with, (std::vector<double>{0.5, 0.7}));
  EXPECT_EQ(rec.worse, (std::vector<double>{2.0}));
  EXPECT_NE(rec.reason.find("0.5 and 0.7 are within noise of it; 2 is worse."), std::string::npos)
      << rec.reason;
}

// Margin 10 has the lowest centroid_cv but can never be satisfied, and 0.3
// stopped learning (mean active fraction 0.01): 0.7 wins, 1.0 ties with it.
TEST(SeedVerdictTest, TheLowestIsExcludedAndTheNextWins) {
  auto collapsed = three_seeds(0.3, 0.10, 0.01);
  collapsed[0].active_fraction = 0.03;  // the mean, not the first seed, decides
  collapsed[1].active_fraction = collapsed[2].active_fraction = 0.0;
  const auto runs = join({collapsed, three_seeds(0.7, 0.30, 0.02), three_seeds(1.0, 0.32, 0.02),
                          three_seeds(10.0, 0.05, 0.01, 1.0)});
  const Recommendation rec = experiment::recommend(summarise(runs), RecommendationRule{});
  ASSERT_TRUE(rec.found);
  EXPECT_EQ(rec.margin, 0.7);
  EXPECT_EQ(rec.tied_with, (std::vector<double>{1.0}));
  EXPECT_TRUE(rec.worse.empty());
  ASSERT_EQ(rec.excluded.size(), 2u);
  EXPECT_NE(rec.excluded[0].find("margin 0.3: active fraction 0.010"), std::string::npos);
  EXPECT_NE(rec.excluded[1].find("margin 10: cannot be satisfied"), std::string::npos);
}

// Seeds are grouped under their margin whatever the input order, and the
// centroid matrix is averaged cell by cell, a NaN cell of one seed left out.
TEST(SummariseTest, GroupsSeedsAndAveragesTheCentroidMatrix) {
  MarginRun a = run(1.0, 0.3, 0.2, 0.5, 43), b = run(1.0, 0.3, 0.4, 0.5, 42),
            c = run(0.5, 0.3, 0.3, 0.5, 42);
  a.labels = b.labels = {"x", "y"};
  a.centroids = {{0, 1.0}, {1.0, 0}};
  b.centroids = {{0, 3.0}, {NAN, 0}};
  const auto s = summarise({a, c, b});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].margin, 0.5);
  ASSERT_EQ(s[1].seeds(), 2);
  EXPECT_EQ(s[1].runs[0].seed, 42);
  EXPECT_EQ(s[1].runs[1].seed, 43);
  ASSERT_EQ(s[1].mean_centroids.size(), 2u);
  EXPECT_DOUBLE_EQ(s[1].mean_centroids[0][1], 2.0);
  EXPECT_DOUBLE_EQ(s[1].mean_centroids[1][0], 1.0);
  EXPECT_NEAR(s[1].metric(&MarginRun::centroid_cv).mean, 0.3, 1e-12);
  EXPECT_NEAR(s[1].metric(&MarginRun::centroid_cv).std, std::sqrt(0.02), 1e-12);
}

// summary.csv's columns per metric, summary_seeds.csv's rows, and
// summary.json's verdict fields; an undefined metric is empty, not 0.
TEST(WriteSummaryTest, EveryMetricWithItsIntervalAndEveryRun) {
  const std::string dir = std::string(TESSERA_TEST_TMP) + "/WriteSummaryTest";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto runs = join({three_seeds(0.7, 0.34, 0.04), three_seeds(1.0, 0.30, 0.01)});
  for (auto& r : runs) r.map_at_r = r.margin == 0.7 ? NAN : 0.5;
  const auto margins = summarise(runs);
  const RecommendationRule rule;
  const Recommendation rec = experiment::recommend(margins, rule);
  write_summary(dir, margins, {}, rec, rule);

  std::istringstream csv(common::read_file(dir + "/summary.csv"));
  std::string header, row07, row1;
  std::getline(csv, header);
  std::getline(csv, row07);
  std::getline(csv, row1);
  auto cell = [&](const std::string& row, const std::string& name) {
    std::istringstream h(header), r(row);
    std::string hc, rc;
    while (std::getline(h, hc, ',')) {
      std::getline(r, rc, ',');
      if (hc == name) return rc;
    }
    ADD_FAILURE() << "no column " << name << " in " << header;
    return std::string();
  };
  EXPECT_EQ(cell(row07, "margin"), "0.7");
  EXPECT_EQ(cell(row07, "seeds"), "3");
  EXPECT_NEAR(std::stod(cell(row07, "centroid_cv_mean")), 0.34, 1e-6);
  EXPECT_NEAR(std::stod(cell(row07, "centroid_cv_std")), 0.04, 1e-6);
  // 0.34 -+ 4.302653 * 0.04 / sqrt(3) = 0.34 -+ 0.0993655.
  EXPECT_NEAR(std::stod(cell(row07, "centroid_cv_lo")), 0.2406345, 1e-6);
  EXPECT_NEAR(std::stod(cell(row07, "centroid_cv_hi")), 0.4393655, 1e-6);
  EXPECT_EQ(cell(row07, "map_at_r_mean"), "") << "undefined for every seed";
  EXPECT_EQ(cell(row1, "map_at_r_mean"), "0.5");
  EXPECT_EQ(cell(row1, "map_at_r_std"), "0");

  const std::string seeds = common::read_file(dir + "/summary_seeds.csv");
  EXPECT_EQ(seeds.rfind("margin,seed,epochs,train_triplet_loss,", 0), 0u) << seeds;
  EXPECT_EQ(std::count(seeds.begin(), seeds.end(), '\n'), 7) << "a header and six runs";
  EXPECT_NE(seeds.find("\n0.7,3,0,"), std::string::npos) << seeds;

  const auto j = nlohmann::json::parse(common::read_file(dir + "/summary.json"));
  EXPECT_EQ(j["recommended_margin"].get<double>(), 1.0);
  EXPECT_EQ(j["tied_with"], nlohmann::json::array({0.7}));
  EXPECT_NEAR(j["recommendation"]["centroid_cv"]["lo"].get<double>(), 0.30 - 0.0248413, 1e-6);
  EXPECT_EQ(j["margins"][0]["centroid_cv"]["n"].get<int>(), 3);
  EXPECT_TRUE(j["margins"][0]["map_at_r"]["mean"].is_null());
  EXPECT_EQ(j["margins"][1]["runs"].size(), 3u);
  EXPECT_EQ(j["interval_method"].get<std::string>(), kIntervalMethod);
}

// The untrained baseline of two seeds gives an interval, log-mel statistics
// one value; a null tile MAP@R (undefined) is left out, not read as 0.
TEST(ReadBaselinesTest, EverySeedOfTheUntrainedNetworkAndTheLogMelStatistics) {
  const std::string dir = std::string(TESSERA_TEST_TMP) + "/ReadBaselinesTest";
  std::filesystem::remove_all(dir);
  auto report = [](double f1, const nlohmann::json& map) {
    return nlohmann::json{{"labels_per_class", 2},
                          {"draws", 5},
                          {"eval", {{"macro_f1", f1}, {"tile_retrieval", {{"map_at_r", map}}}}}}
        .dump();
  };
  for (const auto& [sub, text] :
       {std::pair<std::string, std::string>{"untrained/seed_42", report(0.30, 0.2)},
        {"untrained/seed_43", report(0.40, nullptr)},
        {"logmel_stats", report(0.55, 0.5)}}) {
    std::filesystem::create_directories(dir + "/baselines/" + sub);
    common::write_file_atomic(dir + "/baselines/" + sub + "/report.json", text);
  }
  const auto b = read_baselines(dir);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].key, "untrained");
  EXPECT_EQ(b[0].runs, 2);
  EXPECT_NEAR(b[0].macro_f1.mean, 0.35, 1e-12);
  // Two values 0.05 from their mean: std 0.05 * sqrt(2); half-width
  // 12.7062 * 0.0707107 / sqrt(2) = 0.635310.
  EXPECT_NEAR(b[0].macro_f1.half_width(), 0.635310, 1e-5);
  EXPECT_EQ(b[0].tile_map_at_r.n, 1);
  EXPECT_DOUBLE_EQ(b[0].tile_map_at_r.mean, 0.2);
  EXPECT_EQ(b[1].key, "logmel_stats");
  EXPECT_EQ(b[1].runs, 1);
  EXPECT_DOUBLE_EQ(b[1].macro_f1.mean, 0.55);
  EXPECT_EQ(b[1].labels_per_class, 2);
  EXPECT_EQ(b[1].draws, 5);
  EXPECT_TRUE(read_baselines(dir + "/baselines").empty()) << "no baselines folder there";
}

}  // namespace
}  // namespace tessera::experiment
