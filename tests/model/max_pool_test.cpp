// The stem's max-pool kernel against LibTorch's max_pool2d(x, 3, 2, 1).
#include "tessera/model/max_pool.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tessera::model {
namespace {

struct PoolResult {
  torch::Tensor y, grad;
};

PoolResult pool(const torch::Tensor& input, const torch::Tensor& g, bool ours) {
  torch::Tensor x = input.clone().requires_grad_();
  torch::Tensor y = ours ? max_pool_3x3_s2(x) : torch::max_pool2d(x, 3, 2, 1);
  y.backward(g);
  return {y.detach(), x.grad()};
}

// Odd and even sizes, post-ReLU ties (many zeros) and plain noise: the same
// values, and fp32 gradients bit for bit (the same additions in the same
// order where windows overlap).
TEST(MaxPoolTest, MatchesLibTorchInFp32) {
  torch::manual_seed(0);
  for (auto shape : {std::vector<std::int64_t>{2, 3, 99, 64},
                     {1, 2, 8, 7},
                     {3, 1, 1, 1},
                     {1, 1, 2, 2},
                     {2, 4, 5, 13}}) {
    for (bool relu : {false, true}) {
      torch::Tensor x = torch::randn(shape);
      if (relu) x = x.relu();
      const torch::Tensor g = torch::randn(torch::max_pool2d(x, 3, 2, 1).sizes());
      const auto a = pool(x, g, true), b = pool(x, g, false);
      ASSERT_EQ(a.y.sizes(), b.y.sizes());
      EXPECT_TRUE(torch::equal(a.y, b.y)) << shape << " relu " << relu;
      EXPECT_TRUE(torch::equal(a.grad, b.grad)) << shape << " relu " << relu;
    }
  }
}

// bf16: the same maxima. Ours sums overlapping windows' gradients in fp32
// and rounds once, so its gradient is LibTorch's fp32 one rounded to bf16,
// bit for bit; LibTorch's bf16 kernel rounds after every addition and lands
// within a few bf16 steps of it.
TEST(MaxPoolTest, MatchesLibTorchInBf16) {
  torch::manual_seed(1);
  const torch::Tensor x = torch::randn({4, 8, 99, 64}).relu().to(torch::kBFloat16);
  const torch::Tensor g = torch::randn({4, 8, 50, 32}).to(torch::kBFloat16);
  const auto a = pool(x, g, true), b = pool(x, g, false);
  const auto exact = pool(x.to(torch::kFloat32), g.to(torch::kFloat32), false);
  EXPECT_TRUE(torch::equal(a.y, b.y));
  EXPECT_EQ(a.grad.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(a.grad, exact.grad.to(torch::kBFloat16)));
  EXPECT_TRUE(torch::allclose(b.grad.to(torch::kFloat32), exact.grad, 0.0, 0.05));
}

// LibTorch's rule for special values: NaN wins its window, and a window of
// -inf keeps its first element (so the gradient goes there).
TEST(MaxPoolTest, NanAndInfinityFollowLibTorch) {
  const float inf = std::numeric_limits<float>::infinity();
  torch::Tensor x = torch::full({1, 1, 4, 4}, -inf);
  x[0][0][2][3] = std::nanf("");
  const torch::Tensor g = torch::arange(1, 5, torch::kFloat32).reshape({1, 1, 2, 2});
  const auto a = pool(x, g, true), b = pool(x, g, false);
  EXPECT_TRUE(torch::equal(a.y.isnan(), b.y.isnan()));
  EXPECT_TRUE(torch::equal(a.y.nan_to_num(0.0), b.y.nan_to_num(0.0)));
  EXPECT_TRUE(torch::equal(a.grad, b.grad));
}

// bf16 channels-last (the bf16 training layout) has kernels of its own:
// the same maxima as LibTorch's NCHW pooling of the same values, answered
// in NHWC, and the gradient of LibTorch's fp32 pooling rounded to bf16, bit
// for bit (overlapping windows add in fp32 in output order, as there). The
// channel counts take the 32-channel vector path (64), it and the scalar
// tail (40), and the tail alone (5); post-ReLU inputs have many ties, and a
// NaN and a window of -inf follow LibTorch's rule.
TEST(MaxPoolTest, ChannelsLastBf16MatchesLibTorch) {
  torch::manual_seed(2);
  const float inf = std::numeric_limits<float>::infinity();
  const auto nhwc = at::MemoryFormat::ChannelsLast;
  for (auto shape : {std::vector<std::int64_t>{2, 64, 9, 8}, {1, 40, 7, 13}, {3, 5, 4, 3},
                     {1, 64, 2, 1}, {2, 40, 1, 6}}) {
    for (bool relu : {false, true}) {
      torch::Tensor x = torch::randn(shape);
      if (relu) x = x.relu();
      x[0][1][0][0] = std::nanf("");
      x[0][0].fill_(-inf);
      x = x.to(torch::kBFloat16);
      const torch::Tensor g = torch::randn(torch::max_pool2d(x, 3, 2, 1).sizes()).to(torch::kBFloat16);
      const auto ours = pool(x.contiguous(nhwc), g.contiguous(nhwc), true);
      const auto exact = pool(x.to(torch::kFloat32), g.to(torch::kFloat32), false);
      const std::string what = c10::str(shape, " relu ", relu);
      EXPECT_TRUE(ours.y.is_contiguous(nhwc) && ours.grad.is_contiguous(nhwc)) << what;
      EXPECT_EQ(ours.grad.scalar_type(), torch::kBFloat16) << what;
      const torch::Tensor y = ours.y.to(torch::kFloat32);
      EXPECT_TRUE(torch::equal(y.isnan(), exact.y.isnan())) << what;
      EXPECT_TRUE(torch::equal(y.nan_to_num(0.0, 0.0, 0.0), exact.y.nan_to_num(0.0, 0.0, 0.0)))
          << what;
      EXPECT_TRUE(torch::equal(ours.grad, exact.grad.to(torch::kBFloat16))) << what;
    }
  }
}

// Other layouts and dtypes go to LibTorch's own pooling.
TEST(MaxPoolTest, OtherLayoutsFallBackToLibTorch) {
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({2, 16, 9, 9}).contiguous(at::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(torch::equal(max_pool_3x3_s2(x), torch::max_pool2d(x, 3, 2, 1)));
}

}  // namespace
}  // namespace tessera::model
