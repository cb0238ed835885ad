// The objectives beyond the study's triplet loss, each against a value
// computed another way: NT-Xent against PyTorch's cross-entropy formula and
// an explicit double loop; the mined triplet losses against hand-placed
// unit vectors whose distances are worked out in the comments.
#include "tessera/loss/objective.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tessera/loss/mined_triplet_loss.h"
#include "tessera/loss/nt_xent_loss.h"

namespace tessera::loss {
namespace {

namespace F = torch::nn::functional;

torch::Tensor unit_rows(std::int64_t n, std::int64_t d, std::uint64_t seed) {
  torch::manual_seed(seed);
  return F::normalize(torch::randn({n, d}, torch::kFloat64), F::NormalizeFuncOptions().dim(1));
}

torch::Tensor ids(std::vector<std::int64_t> v) {
  return torch::tensor(v, torch::kInt64);
}

// Unit vectors at angles (degrees) in the plane.
torch::Tensor at_angles(std::vector<double> degrees) {
  torch::Tensor t = torch::zeros({std::int64_t(degrees.size()), 2}, torch::kFloat64);
  for (std::size_t i = 0; i < degrees.size(); ++i) {
    t[i][0] = std::cos(degrees[i] * M_PI / 180);
    t[i][1] = std::sin(degrees[i] * M_PI / 180);
  }
  return t;
}

// Squared distance of unit vectors `deg` degrees apart: 2 - 2 cos.
double d2(double deg) {
  return 2 - 2 * std::cos(deg * M_PI / 180);
}

// With one recording per triplet, the denominator of SimCLR's loss is every
// other view but the row itself: PyTorch's cross-entropy over logits with
// the diagonal masked gives the same number.
TEST(NtXentLossTest, MatchesPyTorchsCrossEntropyFormula) {
  const std::int64_t b = 6;
  const torch::Tensor z = unit_rows(3 * b, 5, 3);
  const double tau = 0.2;
  const torch::Tensor got = nt_xent_loss(z, triplet_recordings(b, torch::kCPU), tau);
  torch::Tensor logits = torch::matmul(z.narrow(0, 0, 2 * b), z.t()) / tau;
  for (std::int64_t i = 0; i < 2 * b; ++i) logits[i][i] = -INFINITY;
  const torch::Tensor target = torch::cat({torch::arange(b, 2 * b), torch::arange(b)});
  const torch::Tensor want = F::cross_entropy(logits, target);
  EXPECT_NEAR(got.item<double>(), want.item<double>(), 1e-12);
}

// Triplets 0 and 1 are of one recording: each leaves the other's views out
// of its denominator. Checked against the definition, term by term.
TEST(NtXentLossTest, LeavesViewsOfTheRowsOwnRecordingOut) {
  const std::int64_t b = 4;
  const torch::Tensor z = unit_rows(3 * b, 3, 8);
  // anchors/neighbours of triplets 0 and 1: recording 7; the rest distinct;
  // opposite 3 is also of recording 7.
  const torch::Tensor rec = ids({7, 7, 1, 2, 7, 7, 1, 2, 10, 11, 12, 7});
  const double tau = 0.5;
  const torch::Tensor got = nt_xent_loss(z, rec, tau);
  auto zz = z.accessor<double, 2>();
  auto r = rec.accessor<std::int64_t, 1>();
  auto sim = [&](int i, int j) {
    double s = 0;
    for (int k = 0; k < 3; ++k) s += zz[i][k] * zz[j][k];
    return s / tau;
  };
  double total = 0;
  for (int i = 0; i < 2 * b; ++i) {
    const int pos = i < b ? i + int(b) : i - int(b);
    double denom = std::exp(sim(i, pos));
    for (int j = 0; j < 3 * b; ++j) {
      if (r[j] != r[i]) denom += std::exp(sim(i, j));
    }
    total += std::log(denom) - sim(i, pos);
  }
  EXPECT_NEAR(got.item<double>(), total / double(2 * b), 1e-12);
  // Not the same as treating everything as a negative.
  EXPECT_GT(std::abs(got.item<double>() -
                     nt_xent_loss(z, triplet_recordings(b, torch::kCPU), tau).item<double>()),
            1e-3);
}

// Two triplets, all views in the plane (angles in degrees):
//   a0 = 0, n0 = 40 (d_p = d2(40)); a1 = 90, n1 = 100; o0 = 170, o1 = 30.
// a1 and n1 are of a0's recording (a second triplet of it), so a0's
// candidates are o0 (170) and o1 (30, another recording): the hardest is o1.
// Without the recording ids, n1 at 100 and a1 at 90 would be candidates but
// o1 at 30 stays the closest; a third set-up below makes the ids matter.
TEST(MinedTripletLossTest, BatchHardPicksTheClosestViewOfAnotherRecording) {
  const torch::Tensor e = at_angles({0, 90, 40, 100, 170, 30});
  const torch::Tensor rec = ids({5, 5, 5, 5, 8, 9});
  const auto r = mined_triplet_loss(e, rec, Mining::kBatchHard, 1.0, Reduction::kMean);
  EXPECT_EQ(r.negative[0].item<std::int64_t>(), 5);  // o1 at 30 degrees
  // a1 (90): candidates o0 (170, 80 away) and o1 (30, 60 away): o1.
  EXPECT_EQ(r.negative[1].item<std::int64_t>(), 5);
  const double l0 = std::max(0.0, d2(40) - d2(30) + 1.0);
  const double l1 = std::max(0.0, d2(10) - d2(60) + 1.0);
  EXPECT_NEAR(r.loss.item<double>(), (l0 + l1) / 2, 1e-12);
  EXPECT_EQ(r.active.item<std::int64_t>(), int(l0 > 0) + int(l1 > 0));
}

// a0 = 0 with its neighbour n0 = 50; a view of a0's own recording sits at 5
// degrees (n1, a second triplet's neighbour): batch-hard must not take it.
TEST(MinedTripletLossTest, NeverMinesAViewOfTheAnchorsOwnRecording) {
  const torch::Tensor e = at_angles({0, 120, 50, 5, 200, 60});
  const torch::Tensor own = ids({3, 3, 3, 3, 4, 6});
  const auto r = mined_triplet_loss(e, own, Mining::kBatchHard, 0.5, Reduction::kMean);
  EXPECT_EQ(r.negative[0].item<std::int64_t>(), 5);  // o1 at 60, not n1 at 5
  // Where the ids say the second triplet is another recording, n1 is mined.
  const auto other =
      mined_triplet_loss(e, ids({3, 9, 3, 9, 4, 6}), Mining::kBatchHard, 0.5, Reduction::kMean);
  EXPECT_EQ(other.negative[0].item<std::int64_t>(), 3);
}

// Semi-hard: a0 = 0, n0 = 60 (d_p = d2(60) = 1). Candidates: o1 at 20
// (closer than the neighbour: not semi-hard), a1 at 80, n1 at 150 (the
// farther ones): the closest farther one is a1. Anchor a1 = 80 with
// n1 = 150 (d_p = d2(70)): candidates a0 at 0 (80 away), n0 at 60 (20),
// o0 at 85 (5), o1 at 20 (60): none farther than 70 degrees except a0, so
// a0 is taken; with a0 removed (same recording) none is farther, and the
// farthest (o1 at 60 degrees) is taken.
TEST(MinedTripletLossTest, SemiHardTakesTheClosestFartherNegativeElseTheFarthest) {
  const torch::Tensor e = at_angles({0, 80, 60, 150, 85, 20});
  auto r = mined_triplet_loss(e, ids({1, 2, 1, 2, 3, 4}), Mining::kSemiHard, 1.0, Reduction::kMean);
  EXPECT_EQ(r.negative[0].item<std::int64_t>(), 1);  // a1 at 80
  EXPECT_EQ(r.negative[1].item<std::int64_t>(), 0);  // a0, 80 degrees away
  r = mined_triplet_loss(e, ids({1, 1, 1, 1, 3, 4}), Mining::kSemiHard, 1.0, Reduction::kMean);
  EXPECT_EQ(r.negative[1].item<std::int64_t>(), 5);        // o1, the farthest candidate
  const double l0 = std::max(0.0, d2(60) - d2(85) + 1.0);  // a0's: o0 at 85 is closest farther
  const double l1 = std::max(0.0, d2(70) - d2(60) + 1.0);
  EXPECT_EQ(r.negative[0].item<std::int64_t>(), 4);
  EXPECT_NEAR(r.loss.item<double>(), (l0 + l1) / 2, 1e-12);
}

TEST(ObjectiveTest, TripletKindIsTheStudysLossOnTheSameTensors) {
  const torch::Tensor e = unit_rows(12, 6, 1);
  const auto parts = e.split(4, 0);
  const TripletLoss study({0.7, Reduction::kZeroFiltered});
  const auto want = study.compute(parts[0], parts[1], parts[2]);
  const auto got = Objective(study).compute(e);
  EXPECT_TRUE(torch::equal(got.loss, want.loss));
  EXPECT_TRUE(torch::equal(got.active, want.active));
  EXPECT_TRUE(torch::equal(got.dist_opposite, want.dist_opposite));
}

TEST(ObjectiveTest, EveryKindGivesAFiniteLossWithGradients) {
  for (const char* name : {"triplet", "batch_hard", "semi_hard", "nt_xent"}) {
    ObjectiveOptions o;
    o.kind = parse_objective(name);
    EXPECT_EQ(objective_name(o.kind), name);
    torch::Tensor e = unit_rows(9, 4, 2).requires_grad_(true);
    const auto r = Objective(o).compute(e);
    r.loss.backward();
    EXPECT_TRUE(std::isfinite(r.loss.item<double>())) << name;
    EXPECT_TRUE(e.grad().defined()) << name;
  }
}

TEST(ObjectiveTest, NamesTheNearestKindForATypo) {
  try {
    parse_objective("ntxent");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'nt_xent'"), std::string::npos) << e.what();
  }
  ObjectiveOptions o;
  o.temperature = 0;
  EXPECT_THROW(o.validate(), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::loss
