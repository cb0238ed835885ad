#include "tessera/loss/triplet_loss.h"

#include <gtest/gtest.h>

namespace tessera::loss {
namespace {

torch::Tensor rows(std::vector<std::vector<float>> v) {
  torch::Tensor t = torch::zeros({int64_t(v.size()), int64_t(v[0].size())});
  for (size_t i = 0; i < v.size(); ++i)
    for (size_t j = 0; j < v[i].size(); ++j) t[i][j] = v[i][j];
  return t;
}

double v(const torch::Tensor& t) {
  return t.item<double>();
}

TripletLoss make(double margin, Reduction r = Reduction::kZeroFiltered) {
  TripletLossOptions o;
  o.margin = margin;
  o.reduction = r;
  return TripletLoss(o);
}

// a = n = e1 and o = -e1: d(a,n) = 0 and d(a,o) = |2 e1|^2 = 4.
TEST(TripletLossTest, ZeroWhenOppositeIsFarEnough) {
  const auto a = rows({{1, 0}}), n = rows({{1, 0}}), o = rows({{-1, 0}});
  const auto r = make(1.0).compute(a, n, o);
  EXPECT_DOUBLE_EQ(v(r.loss), 0.0);
  EXPECT_EQ(r.active.item<std::int64_t>(), 0);
  EXPECT_EQ(r.count, 1);
  EXPECT_DOUBLE_EQ(v(r.dist_neighbour), 0.0);
  EXPECT_DOUBLE_EQ(v(r.dist_opposite), 4.0);
  // d(a,n) - d(a,o) >= -4 for unit vectors: margin 10 leaves at least 6.
  EXPECT_NEAR(v(make(10.0).compute(a, n, o).loss), 6.0, 1e-6);
}

// Triplet 1: d(a,n) = 0, d(a,o) = 2 (orthogonal) -> max(0, 0 - 2 + 1) = 0.
// Triplet 2: d(a,n) = 2, d(a,o) = 2 -> max(0, 2 - 2 + 1) = 1.
// zero_filtered averages the active one (1); mean averages both (0.5).
TEST(TripletLossTest, ReductionsDifferAsTheyShould) {
  const auto a = rows({{1, 0}, {1, 0}}), n = rows({{1, 0}, {0, 1}}), o = rows({{0, 1}, {0, -1}});
  const auto zf = make(1.0).compute(a, n, o);
  const auto mean = make(1.0, Reduction::kMean).compute(a, n, o);
  EXPECT_NEAR(v(zf.loss), 1.0, 1e-6);
  EXPECT_NEAR(v(mean.loss), 0.5, 1e-6);
  EXPECT_EQ(zf.active.item<std::int64_t>(), 1);
  EXPECT_EQ(zf.count, 2);
  EXPECT_NEAR(v(zf.dist_neighbour), 1.0, 1e-6);
  EXPECT_NEAR(v(zf.dist_opposite), 2.0, 1e-6);
}

TEST(TripletLossTest, GradientMatchesFiniteDifference) {
  torch::manual_seed(3);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor a = torch::randn({4, 3}, opts), n = torch::randn({4, 3}, opts),
                o = torch::randn({4, 3}, opts);
  const auto loss = make(0.7, Reduction::kMean);
  torch::Tensor a_req = a.clone().requires_grad_(true);
  loss.compute(a_req, n, o).loss.backward();
  const torch::Tensor grad = a_req.grad();
  const double h = 1e-6;
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 3; ++j) {
      torch::Tensor ap = a.clone(), am = a.clone();
      ap[i][j] += h;
      am[i][j] -= h;
      const double fd = (v(loss.compute(ap, n, o).loss) - v(loss.compute(am, n, o).loss)) / (2 * h);
      EXPECT_NEAR(grad[i][j].item<double>(), fd, 1e-5) << i << "," << j;
    }
  }
}

// Keras' l2: amount * sum(w^2) over kernels and biases of conv and linear.
TEST(TripletLossTest, L2PenaltyCountsKernelsAndBiases) {
  torch::nn::Sequential m(torch::nn::Linear(2, 1), torch::nn::BatchNorm1d(1));
  auto* lin = m[0]->as<torch::nn::Linear>();
  torch::NoGradGuard g;
  lin->weight.copy_(torch::tensor({{1.0f, 2.0f}}));
  lin->bias.copy_(torch::tensor({3.0f}));
  // 0.1 * (1 + 4 + 9); batch norm's weight (1) and bias (0) are not counted.
  EXPECT_NEAR(l2_penalty(*m, 0.1).item<double>(), 1.4, 1e-6);
  EXPECT_EQ(l2_penalty(*m, 0.0).item<double>(), 0.0);
}

TEST(TripletLossTest, NonPositiveMarginIsRejected) {
  TripletLossOptions o;
  o.margin = -1;
  EXPECT_THROW(TripletLoss{o}, std::invalid_argument);
  EXPECT_THROW(parse_reduction("median"), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::loss
