// The stem's batch norm and max-pool as one operator against their
// composition (LibTorch's batch norm and max_pool2d(x, 3, 2, 1)) and against
// fp64 autograd.
#include "tessera/ops/stem_pool.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "ops/tensor_checks.h"
#include "tessera/ops/batch_norm.h"
#include "tessera/ops/lane_order.h"

namespace tessera::ops {
namespace {

const KernelOptions kAll;  // every kernel on, the default

// The fused stem: a BatchNorm2d with random parameters (some channels with a
// negative scale, whose windows pool the minimum of x) and running
// statistics, and bf16 NHWC inputs of mean 3 and spread 2 (bf16 ties inside
// windows are common at that spacing).
torch::nn::BatchNorm2d random_stem_bn(std::int64_t c) {
  torch::nn::BatchNorm2d bn(c);
  torch::NoGradGuard g;
  bn->weight.uniform_(-1.5, 1.5);
  bn->bias.uniform_(-0.5, 0.5);
  bn->running_mean.uniform_(-1, 1);
  bn->running_var.uniform_(0.5, 2);
  return bn;
}

torch::nn::BatchNorm2d copy_of(const torch::nn::BatchNorm2d& bn) {
  torch::nn::BatchNorm2d out(bn->options);
  torch::NoGradGuard g;
  for (const char* name : {"weight", "bias"})
    out->named_parameters()[name].copy_(bn->named_parameters()[name]);
  for (const char* name : {"running_mean", "running_var", "num_batches_tracked"})
    out->named_buffers()[name].copy_(bn->named_buffers()[name]);
  return out;
}

const std::vector<std::vector<std::int64_t>> kStemShapes{
    {2, 64, 9, 8}, {1, 40, 7, 13}, {3, 5, 4, 3}, {1, 64, 2, 1}, {2, 37, 1, 6}};

// Output values and running statistics equal the composition
// max_pool2d(batch_norm(x, bn, false), 3, 2, 1) bit for bit: bn() is monotone in
// x times the scale's sign, so the maximum of the rounded bn(x) is the
// rounded bn() of that maximum.
TEST(BatchNormMaxPoolTest, ValuesAndStatisticsEqualTheComposition) {
  torch::manual_seed(5);
  for (const auto& shape : kStemShapes) {
    torch::nn::BatchNorm2d bn = random_stem_bn(shape[1]);
    torch::nn::BatchNorm2d bn2 = copy_of(bn);
    const torch::Tensor xb = testing::nhwc_bf16(torch::randn(shape) * 2 + 3);
    ASSERT_TRUE(batch_norm_fused(xb, *bn, kAll));
    const torch::Tensor ours = batch_norm_max_pool_3x3_s2(xb, *bn, kAll);
    // The fused batch norm alone (the same statistics), then LibTorch's pool.
    const torch::Tensor theirs =
        torch::max_pool2d(batch_norm(xb, *bn2, kAll, /*relu=*/false), 3, 2, 1);
    const std::string what = c10::str(shape);
    EXPECT_TRUE(ours.is_contiguous(at::MemoryFormat::ChannelsLast)) << what;
    EXPECT_EQ(ours.scalar_type(), torch::kBFloat16) << what;
    EXPECT_TRUE(torch::equal(ours, theirs)) << what;
    EXPECT_TRUE(torch::equal(bn->running_mean, bn2->running_mean)) << what;
    EXPECT_TRUE(torch::equal(bn->running_var, bn2->running_var)) << what;
    EXPECT_EQ(bn->num_batches_tracked.item<std::int64_t>(), 1) << what;
  }
}

// Gradients against fp64 autograd of batch_norm then max_pool2d on the same
// bf16 values (where bf16 rounding makes no ties, so the gradient goes where
// the fused operator sends it: to the first maximum of x).
TEST(BatchNormMaxPoolTest, GradientsMatchFp64Autograd) {
  torch::manual_seed(6);
  for (const auto& shape : kStemShapes) {
    torch::nn::BatchNorm2d bn = random_stem_bn(shape[1]);
    const torch::Tensor rm0 = bn->running_mean.clone(), rv0 = bn->running_var.clone();
    const torch::Tensor x = testing::nhwc_bf16(torch::randn(shape) * 2 + 3).requires_grad_();
    const torch::Tensor y = batch_norm_max_pool_3x3_s2(x, *bn, kAll);
    const torch::Tensor g = testing::nhwc_bf16(torch::randn(y.sizes()));
    y.backward(g);

    const torch::Tensor xd = x.detach().to(torch::kFloat64).contiguous().requires_grad_();
    const torch::Tensor wd = bn->weight.detach().to(torch::kFloat64).requires_grad_();
    const torch::Tensor bd = bn->bias.detach().to(torch::kFloat64).requires_grad_();
    torch::Tensor rmd = rm0.to(torch::kFloat64), rvd = rv0.to(torch::kFloat64);
    const torch::Tensor yd = torch::max_pool2d(
        torch::batch_norm(xd, wd, bd, rmd, rvd, /*training=*/true, 0.1, 1e-5, false), 3, 2, 1);
    yd.backward(g.to(torch::kFloat64).contiguous());

    const std::string what = c10::str(shape);
    testing::expect_near(y, yd, 1e-2, what + " y");
    // The input's gradient is summed in fp32 from bf16 values and rounded once.
    testing::expect_near(x.grad(), xd.grad(), 2e-2, what + " dx");
    testing::expect_near(bn->weight.grad(), wd.grad(), 1e-4, what + " dgamma");
    testing::expect_near(bn->bias.grad(), bd.grad(), 1e-4, what + " dbeta");
    testing::expect_near(bn->running_mean, rmd, 1e-6, what + " running mean");
    testing::expect_near(bn->running_var, rvd, 1e-5, what + " running var");
  }
}

// Unfused (fp32, or with the fusion switched off): the composition, bit for bit.
TEST(BatchNormMaxPoolTest, FallsBackToTheComposition) {
  torch::manual_seed(7);
  for (bool bf16 : {false, true}) {
    torch::nn::BatchNorm2d bn = random_stem_bn(16), bn2 = copy_of(bn);
    torch::Tensor x = torch::randn({2, 16, 9, 8});
    if (bf16) x = testing::nhwc_bf16(x);
    KernelOptions k;
    k.fused_batch_norm = !bf16;  // fp32 is never fused
    const torch::Tensor ours = batch_norm_max_pool_3x3_s2(x, *bn, k);
    const torch::Tensor theirs = torch::max_pool2d(bn2->forward(x), 3, 2, 1);
    EXPECT_TRUE(torch::equal(ours, theirs)) << "bf16 " << bf16;
    EXPECT_TRUE(torch::equal(bn->running_var, bn2->running_var)) << "bf16 " << bf16;
  }
}

// Blocked statistics and per-row passes: 1 and 2 threads give the same bits.
TEST(BatchNormMaxPoolTest, SameBitsOnAnyThreadCount) {
  torch::manual_seed(8);
  const torch::Tensor x0 = testing::nhwc_bf16(torch::randn({4, 64, 25, 16}) * 2 + 3);
  const torch::Tensor g = testing::nhwc_bf16(torch::randn({4, 64, 13, 8}));
  const int threads = at::get_num_threads();
  std::vector<torch::Tensor> results;
  for (int t : {1, 2}) {
    at::set_num_threads(t);
    torch::manual_seed(9);
    torch::nn::BatchNorm2d bn = random_stem_bn(64);
    const torch::Tensor x = x0.clone().requires_grad_();
    const torch::Tensor y = batch_norm_max_pool_3x3_s2(x, *bn, kAll);
    y.backward(g);
    for (const torch::Tensor& v :
         {y, x.grad(), bn->weight.grad(), bn->bias.grad(), bn->running_mean, bn->running_var})
      results.push_back(v.detach().clone());
  }
  at::set_num_threads(threads);
  const std::size_t n = results.size() / 2;
  for (std::size_t i = 0; i < n; ++i) EXPECT_TRUE(torch::equal(results[i], results[n + i])) << i;
}

// The channel-at-a-time loops find each channel's constant where the vector
// loops put it (V32 order).
TEST(BatchNormMaxPoolTest, LaneOfFindsEachChannelInV32Order) {
  for (int c : {5, 32, 40, 64, 70}) {
    std::vector<float> channels(static_cast<std::size_t>(c));
    std::iota(channels.begin(), channels.end(), 0.f);
    const std::vector<float> lanes = simd::to_lanes(channels);
    for (int ch = 0; ch < c; ++ch)
      EXPECT_EQ(lanes[simd::lane_of(ch, c)], float(ch)) << c << " " << ch;
  }
}

}  // namespace
}  // namespace tessera::ops
