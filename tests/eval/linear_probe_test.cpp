// The classifiers on frozen embeddings and their scores (eval/linear_probe.h).
#include "tessera/eval/linear_probe.h"

#include <gtest/gtest.h>

#include <set>

namespace tessera::eval {
namespace {

// y_true [0,0,1,1,2,2], y_pred [0,1,1,1,2,0]: F1 per class 0.5, 0.8, 2/3.
TEST(LinearProbeTest, ScoresMatchHandComputation) {
  const ClassScores s = score({0, 0, 1, 1, 2, 2}, {0, 1, 1, 1, 2, 0}, 3);
  EXPECT_NEAR(s.accuracy, 4.0 / 6, 1e-12);
  EXPECT_NEAR(s.f1[0], 0.5, 1e-12);
  EXPECT_NEAR(s.f1[1], 0.8, 1e-12);
  EXPECT_NEAR(s.f1[2], 2.0 / 3, 1e-12);
  EXPECT_NEAR(s.macro_f1, (0.5 + 0.8 + 2.0 / 3) / 3, 1e-12);
  EXPECT_EQ(s.confusion[2][0], 1);
}

TEST(LinearProbeTest, LogisticRegressionSeparatesSeparableData) {
  torch::manual_seed(0);
  const torch::Tensor x = torch::cat({torch::randn({30, 4}) + 3, torch::randn({30, 4}) - 3});
  std::vector<int> y(60, 0);
  for (int i = 30; i < 60; ++i) y[i] = 1;
  for (const char* kind : {"logistic", "dense"}) {
    ProbeOptions o;
    o.kind = kind;
    LinearProbe p(o, 4, 2);
    p.fit(x, y);
    EXPECT_EQ(score(y, p.predict(x), 2).accuracy, 1.0) << kind;
  }
}

// Few labels: that many rows of each class, all of a smaller class, none
// of an unlabelled row, the same rows for the same seed and others for
// another.
TEST(LinearProbeTest, LabelledSubsetTakesPerClassRows) {
  std::vector<int> y;
  for (int i = 0; i < 20; ++i) y.push_back(i % 2);  // 10 of each of classes 0 and 1
  y.push_back(2);                                   // one row of class 2
  y.push_back(-1);                                  // unlabelled
  const auto a = labelled_subset(y, 3, 7);
  ASSERT_EQ(a.size(), 7u);  // 3 + 3 + 1
  int count[3] = {0, 0, 0};
  for (const auto r : a) ++count[y[std::size_t(r)]];
  EXPECT_EQ(count[0], 3);
  EXPECT_EQ(count[1], 3);
  EXPECT_EQ(count[2], 1);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(labelled_subset(y, 3, 7), a);
  EXPECT_NE(labelled_subset(y, 3, 8), a);
  EXPECT_EQ(labelled_subset(y, 0, 7).size(), 21u);  // every labelled row
  EXPECT_THROW(labelled_subset(y, -1, 7), std::invalid_argument);
}

// Several draws: macro-F1 is the mean of the draws' and the spread is
// theirs; the pooled confusion matrix counts every draw's predictions.
TEST(LinearProbeTest, FewLabelProbesAverageTheirDraws) {
  torch::manual_seed(0);
  // Two overlapping Gaussian classes, so different label draws disagree.
  const torch::Tensor x = torch::cat({torch::randn({40, 2}) + 0.7, torch::randn({40, 2}) - 0.7});
  std::vector<int> y(80, 0);
  for (int i = 40; i < 80; ++i) y[i] = 1;
  ProbeOptions o;
  FewLabelProbes probes(o, x, y, 2, 2, 4);
  EXPECT_EQ(probes.draws(), 4);
  EXPECT_EQ(probes.labelled_rows(), 4u);
  const ClassScores s = probes.score(x, y);
  ASSERT_EQ(s.macro_f1_draws.size(), 4u);
  double mean = 0;
  for (double f : s.macro_f1_draws) mean += f / 4;
  EXPECT_NEAR(s.macro_f1, mean, 1e-12);
  EXPECT_EQ(std::set<double>(s.macro_f1_draws.begin(), s.macro_f1_draws.end()).size() > 1, true);
  int total = 0;
  for (const auto& row : s.confusion)
    for (int c : row) total += c;
  EXPECT_EQ(total, 4 * 80);
  // With every label there is one probe, as LinearProbe alone.
  FewLabelProbes all(o, x, y, 2, 0, 4);
  EXPECT_EQ(all.draws(), 1);
  LinearProbe one(o, 2, 2);
  one.fit(x, y);
  EXPECT_NEAR(all.score(x, y).macro_f1, score(y, one.predict(x), 2).macro_f1, 1e-12);
  EXPECT_TRUE(all.score(x, y).macro_f1_draws.empty());
}

}  // namespace
}  // namespace tessera::eval
