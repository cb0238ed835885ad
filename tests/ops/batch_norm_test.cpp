// The fused batch norm + residual add + ReLU against LibTorch: the fused bf16
// NHWC kernels against fp64 autograd of the same values, and the fallback
// against the plain module bit for bit.
#include "tessera/ops/batch_norm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/tensor_checks.h"

namespace tessera::ops {
namespace {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

const KernelOptions kAll;  // every kernel on, the default
using testing::expect_near;
using testing::nhwc_bf16;

struct Case {
  std::vector<std::int64_t> shape;
  bool relu, residual;
};

// Shapes with 64-, 16- and 1-channel tiles of the kernels (C = 64, 40 =
// 16 + 16 + 8, 24 = 16 + 8, 5), and several statistics blocks (2 x 24 x
// 20 x 16 = 1280 rows of 512). Inputs have mean 3 and spread 2, so the
// statistics are not centred at zero.
TEST(BatchNormTest, FusedBf16MatchesFp64Autograd) {
  torch::manual_seed(0);
  for (const Case& k : {Case{{3, 64, 7, 5}, true, true}, Case{{3, 64, 7, 5}, false, false},
                        Case{{2, 40, 9, 4}, true, false}, Case{{2, 40, 9, 4}, false, true},
                        Case{{2, 24, 20, 16}, true, true}, Case{{4, 5, 3, 3}, true, true}}) {
    const std::int64_t C = k.shape[1];
    nn::BatchNorm2d bn(C);
    {
      torch::NoGradGuard g;
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.uniform_(-0.5, 0.5);
      bn->running_mean.uniform_(-1, 1);
      bn->running_var.uniform_(0.5, 2);
    }
    const torch::Tensor rm0 = bn->running_mean.clone(), rv0 = bn->running_var.clone();
    const torch::Tensor x = nhwc_bf16(torch::randn(k.shape) * 2 + 3).requires_grad_();
    const torch::Tensor r =
        k.residual ? nhwc_bf16(torch::randn(k.shape)).requires_grad_() : torch::Tensor();
    const torch::Tensor g = nhwc_bf16(torch::randn(k.shape));
    ASSERT_TRUE(batch_norm_fused(x, *bn, kAll, r));
    const torch::Tensor y = batch_norm(x, *bn, kAll, k.relu, r);
    y.backward(g);
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(y.is_contiguous(at::MemoryFormat::ChannelsLast));
    EXPECT_EQ(bn->num_batches_tracked.item<std::int64_t>(), 1);

    // Reference: the same bf16 values in fp64, through LibTorch's autograd.
    const torch::Tensor xd = x.detach().to(torch::kFloat64).contiguous().requires_grad_();
    const torch::Tensor wd = bn->weight.detach().to(torch::kFloat64).requires_grad_();
    const torch::Tensor bd = bn->bias.detach().to(torch::kFloat64).requires_grad_();
    torch::Tensor rmd = rm0.to(torch::kFloat64), rvd = rv0.to(torch::kFloat64);
    torch::Tensor yd = torch::batch_norm(xd, wd, bd, rmd, rvd, /*training=*/true, 0.1, 1e-5,
                                         /*cudnn_enabled=*/false);
    if (k.residual) yd = yd + r.detach().to(torch::kFloat64);
    if (k.relu) yd = yd.relu();
    yd.backward(g.to(torch::kFloat64).contiguous());

    const std::string what = c10::str(k.shape, " relu ", k.relu, " residual ", k.residual);
    // y is rounded to bf16 once (8 significant bits).
    expect_near(y, yd, 1e-2, what + " y");
    // dx: fp32 sums, bf16 inputs and one bf16 rounding.
    expect_near(x.grad(), xd.grad(), 2e-2, what + " dx");
    expect_near(bn->weight.grad(), wd.grad(), 1e-4, what + " dgamma");
    expect_near(bn->bias.grad(), bd.grad(), 1e-4, what + " dbeta");
    expect_near(bn->running_mean, rmd, 1e-6, what + " running mean");
    expect_near(bn->running_var, rvd, 1e-5, what + " running var");
    if (k.residual) {
      // The residual's gradient is the output's, masked where the ReLU was off.
      const torch::Tensor expected = k.relu ? torch::where(y > 0, g, torch::zeros_like(g)) : g;
      EXPECT_TRUE(torch::equal(r.grad(), expected)) << what;
    }
  }
}

// Where the output is NaN (here from the residual), the ReLU passes the
// gradient on, as ATen's threshold_backward does (NaN <= 0 is false); where
// it is <= 0 the gradient is zero. Channel 3 is in a 32-channel vector,
// channel 37 in the tail.
TEST(BatchNormTest, ReluGradientPassesNanOutputsAsAten) {
  torch::manual_seed(4);
  nn::BatchNorm2d bn(40);
  const torch::Tensor x = nhwc_bf16(torch::randn({2, 40, 4, 4})).requires_grad_();
  torch::Tensor r0 = torch::randn({2, 40, 4, 4});
  r0[0][3][1][2] = std::nanf("");
  r0[1][37][0][0] = std::nanf("");
  const torch::Tensor r = nhwc_bf16(r0).requires_grad_();
  const torch::Tensor g = nhwc_bf16(torch::randn({2, 40, 4, 4}));
  ASSERT_TRUE(batch_norm_fused(x, *bn, kAll, r));
  const torch::Tensor y = batch_norm(x, *bn, kAll, true, r);
  y.backward(g);
  ASSERT_EQ(y.isnan().sum().item<std::int64_t>(), 2);
  EXPECT_TRUE(torch::equal(r.grad(), torch::threshold_backward(g, y.detach(), 0)));
  EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>());
}

// fp32, NCHW, evaluation: the plain module, then add_ and relu_, bit for bit.
TEST(BatchNormTest, FallsBackToTheModuleBitForBit) {
  torch::manual_seed(1);
  for (bool train : {true, false}) {
    nn::BatchNorm2d ours(8), plain(8);
    {
      torch::NoGradGuard g;
      ours->weight.uniform_(0.5, 1.5);
      plain->weight.copy_(ours->weight);
    }
    ours->train(train);
    plain->train(train);
    const torch::Tensor x0 = torch::randn({2, 8, 6, 5}), r0 = torch::randn({2, 8, 6, 5});
    const torch::Tensor g = torch::randn({2, 8, 6, 5});
    const torch::Tensor xa = x0.clone().requires_grad_(), ra = r0.clone().requires_grad_();
    const torch::Tensor xb = x0.clone().requires_grad_(), rb = r0.clone().requires_grad_();
    EXPECT_FALSE(batch_norm_fused(xa, *ours, kAll, ra));
    const torch::Tensor ya = batch_norm(xa, *ours, kAll, true, ra);
    torch::Tensor yb = plain->forward(xb);
    yb.add_(rb).relu_();
    ya.backward(g);
    yb.backward(g);
    EXPECT_TRUE(torch::equal(ya, yb));
    EXPECT_TRUE(torch::equal(xa.grad(), xb.grad()));
    EXPECT_TRUE(torch::equal(ra.grad(), rb.grad()));
    EXPECT_TRUE(torch::equal(ours->running_mean, plain->running_mean));
    EXPECT_TRUE(torch::equal(ours->num_batches_tracked, plain->num_batches_tracked));
  }
  // bf16 falls back on NCHW, when switched off, and in evaluation (running
  // statistics, no update).
  nn::BatchNorm2d bn(8);
  EXPECT_TRUE(batch_norm_fused(nhwc_bf16(torch::randn({2, 8, 3, 3})), *bn, kAll));
  EXPECT_FALSE(batch_norm_fused(torch::randn({2, 8, 3, 3}).to(torch::kBFloat16), *bn, kAll));
  KernelOptions off;
  off.fused_batch_norm = false;
  EXPECT_FALSE(batch_norm_fused(nhwc_bf16(torch::randn({2, 8, 3, 3})), *bn, off));
  bn->eval();
  EXPECT_FALSE(batch_norm_fused(nhwc_bf16(torch::randn({2, 8, 3, 3})), *bn, kAll));
}

// Without a momentum BatchNorm2d averages the statistics of all batches so
// far (factor 1 / batches): the fused kernel does as the module does on the
// same values in fp32.
TEST(BatchNormTest, CountsBatchesAndAveragesWithoutMomentum) {
  torch::manual_seed(2);
  nn::BatchNorm2d fused(nn::BatchNorm2dOptions(16).momentum(c10::nullopt));
  nn::BatchNorm2d plain(nn::BatchNorm2dOptions(16).momentum(c10::nullopt));
  for (int step = 0; step < 3; ++step) {
    const torch::Tensor x = nhwc_bf16(torch::randn({2, 16, 5, 4}) + step);
    batch_norm(x, *fused, kAll, true);
    plain->forward(x.to(torch::kFloat32));
  }
  EXPECT_EQ(fused->num_batches_tracked.item<std::int64_t>(), 3);
  expect_near(fused->running_mean, plain->running_mean, 1e-6, "running mean");
  expect_near(fused->running_var, plain->running_var, 1e-5, "running var");
}

// The statistics are added block by block in a fixed order, so one and two
// threads give the same bits.
TEST(BatchNormTest, SameBitsOnAnyThreadCount) {
  torch::manual_seed(3);
  const torch::Tensor x0 = nhwc_bf16(torch::randn({4, 48, 25, 16}));
  const torch::Tensor r0 = nhwc_bf16(torch::randn({4, 48, 25, 16}));
  const torch::Tensor g = nhwc_bf16(torch::randn({4, 48, 25, 16}));
  const int threads = at::get_num_threads();
  std::vector<torch::Tensor> results;
  for (int t : {1, 2}) {
    at::set_num_threads(t);
    nn::BatchNorm2d bn(48);
    const torch::Tensor x = x0.clone().requires_grad_(), r = r0.clone().requires_grad_();
    const torch::Tensor y = batch_norm(x, *bn, kAll, true, r);
    y.backward(g);
    for (const torch::Tensor& v : {y, x.grad(), r.grad(), bn->weight.grad(), bn->bias.grad(),
                                   bn->running_mean, bn->running_var})
      results.push_back(v.detach().clone());
  }
  at::set_num_threads(threads);
  const std::size_t n = results.size() / 2;
  for (std::size_t i = 0; i < n; ++i) EXPECT_TRUE(torch::equal(results[i], results[n + i])) << i;
}

}  // namespace
}  // namespace tessera::ops
