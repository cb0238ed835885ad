// Every SIMD variant of Tessera's bf16 kernels (common/simd_dispatch.h) that
// this machine can run, forced in turn on the same inputs, compared as the
// code claims.
#include <gtest/gtest.h>

#include <vector>

#include "ops/tensor_checks.h"
#include "simd_variants.h"
#include "tessera/common/simd_dispatch.h"
#include "tessera/ops/batch_norm.h"
#include "tessera/ops/unfold.h"

namespace tessera::ops {
namespace {

using common::SimdLevel;
using testing::nhwc_bf16;

// The fold only adds, in fp32 in a fixed order, and rounds once to bf16
// (unfold_test.cpp: it equals the float fold rounded): every level gives the
// same bits. Channels 200 take the 128-, 32- and 1-channel paths.
TEST(OpsSimdVariantsTest, FoldGivesTheSameBitsAtEveryLevel) {
  TESSERA_SKIP_WITHOUT_SIMD_VARIANTS();
  torch::manual_seed(11);
  const std::int64_t n = 2, c = 200, h = 9, w = 7, k = 3, s = 2, p = 1;
  const std::int64_t ho = conv_out_size(h, k, s, p), wo = conv_out_size(w, k, s, p);
  const torch::Tensor cols = torch::randn({n * ho * wo, k * k * c}).to(torch::kBFloat16);
  std::vector<torch::Tensor> outs;
  for (SimdLevel l : common::runnable_simd_levels()) {
    torch::Tensor out =
        torch::empty({n, c, h, w}, torch::TensorOptions()
                                       .dtype(torch::kBFloat16)
                                       .memory_format(at::MemoryFormat::ChannelsLast));
    fold_nhwc(cols, out, k, s, p, l);
    outs.push_back(out);
  }
  for (std::size_t i = 1; i < outs.size(); ++i)
    EXPECT_TRUE(torch::equal(outs[i], outs[0]))
        << common::simd_level_name(common::runnable_simd_levels()[i]);
}

// The fused batch norm (forward with residual and ReLU, backward): its
// statistics are sums in a fixed order, and its element loops do the same
// operations at every level.
TEST(OpsSimdVariantsTest, BatchNormGivesTheSameBitsAtEveryLevel) {
  TESSERA_SKIP_WITHOUT_SIMD_VARIANTS();
  torch::manual_seed(12);
  const torch::Tensor x0 = nhwc_bf16(3 + 2 * torch::randn({2, 72, 13, 11}));
  const torch::Tensor r0 = nhwc_bf16(torch::randn({2, 72, 13, 11}));
  const torch::Tensor g = nhwc_bf16(torch::randn({2, 72, 13, 11}));
  std::vector<std::vector<torch::Tensor>> results;
  for (SimdLevel l : common::runnable_simd_levels()) {
    KernelOptions kernels;
    kernels.simd = l;
    torch::nn::BatchNorm2d bn(72);
    const torch::Tensor x = x0.clone().requires_grad_(), r = r0.clone().requires_grad_();
    const torch::Tensor y = batch_norm(x, *bn, kernels, true, r);
    y.backward(g);
    results.push_back({y.detach().clone(), x.grad().clone(), r.grad().clone(),
                       bn->weight.grad().clone(), bn->bias.grad().clone(), bn->running_mean.clone(),
                       bn->running_var.clone()});
  }
  const char* names[] = {"y",      "dx",           "d residual", "d weight",
                         "d bias", "running mean", "running var"};
  for (std::size_t i = 1; i < results.size(); ++i)
    for (std::size_t j = 0; j < results[0].size(); ++j)
      EXPECT_TRUE(torch::equal(results[i][j], results[0][j]))
          << names[j] << " at " << common::simd_level_name(common::runnable_simd_levels()[i]);
}

}  // namespace
}  // namespace tessera::ops
