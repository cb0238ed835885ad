// Unfolding and folding of channels-last activations (ops/unfold.h).
#include "tessera/ops/unfold.h"

#include <gtest/gtest.h>

namespace tessera::ops {
namespace {

struct Layer {
  std::int64_t n, c, h, w, k, s, p;
};

const auto kNhwc = at::MemoryFormat::ChannelsLast;

// Folding is the adjoint of unfolding: <unfold(x), d> = <x, fold(d)> for
// every x and d, in fp64 (up to rounding), on odd maps, strides 1 and 2,
// kernels 1, 3 and 7, with and without padding.
TEST(UnfoldTest, FoldIsTheAdjointOfUnfold) {
  torch::manual_seed(0);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  for (const Layer& l :
       {Layer{2, 3, 7, 5, 3, 1, 1}, Layer{2, 5, 9, 6, 3, 2, 1}, Layer{1, 4, 8, 7, 1, 2, 0},
        Layer{1, 2, 13, 9, 7, 2, 3}, Layer{2, 3, 6, 6, 3, 1, 0}}) {
    const std::int64_t ho = conv_out_size(l.h, l.k, l.s, l.p),
                       wo = conv_out_size(l.w, l.k, l.s, l.p);
    const std::int64_t row = l.k * l.k * l.c;
    const torch::Tensor x = torch::randn({l.n, l.c, l.h, l.w}, f64).contiguous(kNhwc);
    const torch::Tensor d = torch::randn({l.n * ho * wo, row}, f64);
    const torch::Tensor cols = unfold_nhwc(x, l.k, l.s, l.p).view({l.n * ho * wo, -1});
    ASSERT_EQ(cols.size(1), unfolded_row_length(l.k, l.c));
    torch::Tensor folded = torch::empty({l.n, l.c, l.h, l.w}, f64.memory_format(kNhwc));
    fold_nhwc(d, folded, l.k, l.s, l.p);
    const double lhs = (cols.narrow(1, 0, row) * d).sum().item<double>();
    const double rhs = (x * folded).sum().item<double>();
    EXPECT_NEAR(lhs, rhs, 1e-10 * std::abs(lhs)) << "c=" << l.c << " k=" << l.k << " s=" << l.s;
    // The padding past k*k*C is zero.
    if (cols.size(1) > row) {
      EXPECT_EQ(cols.narrow(1, row, cols.size(1) - row).abs().max().item<double>(), 0);
    }
  }
}

// The bf16 fold (32-channel vector tiles, then a channel at a time) adds in
// fp32 in the same order as the float fold and rounds once: it equals the
// float fold of the same values rounded to bf16, bit for bit. Channels 8
// (tail only), 40 (32 + 8), 128 (one 128-tile) and 200 (128 + 2x32 + 8).
TEST(UnfoldTest, Bf16FoldEqualsFloatFoldRounded) {
  torch::manual_seed(1);
  for (const Layer& l :
       {Layer{2, 8, 7, 5, 3, 1, 1}, Layer{2, 40, 9, 6, 3, 2, 1}, Layer{1, 128, 7, 4, 3, 1, 1},
        Layer{1, 200, 5, 4, 1, 2, 0}, Layer{2, 200, 5, 5, 3, 2, 1}}) {
    const std::int64_t ho = conv_out_size(l.h, l.k, l.s, l.p),
                       wo = conv_out_size(l.w, l.k, l.s, l.p);
    const torch::Tensor d = torch::randn({l.n * ho * wo, l.k * l.k * l.c}).to(torch::kBFloat16);
    torch::Tensor ours = torch::empty(
        {l.n, l.c, l.h, l.w}, torch::TensorOptions().dtype(torch::kBFloat16).memory_format(kNhwc));
    torch::Tensor wide =
        torch::empty({l.n, l.c, l.h, l.w}, torch::TensorOptions().memory_format(kNhwc));
    fold_nhwc(d, ours, l.k, l.s, l.p);
    fold_nhwc(d.to(torch::kFloat32), wide, l.k, l.s, l.p);
    EXPECT_TRUE(torch::equal(ours, wide.to(torch::kBFloat16))) << "c=" << l.c << " s=" << l.s;
  }
}

// Bad arguments name the problem.
TEST(UnfoldTest, FoldRejectsMismatchedColumns) {
  torch::Tensor out = torch::empty({1, 4, 5, 5}, torch::TensorOptions().memory_format(kNhwc));
  EXPECT_THROW(fold_nhwc(torch::zeros({25, 35}), out, 3, 1, 1), std::invalid_argument);
  EXPECT_THROW(fold_nhwc(torch::zeros({25, 36}, torch::kFloat64), out, 3, 1, 1),
               std::invalid_argument);
  torch::Tensor nchw = torch::empty({1, 4, 5, 5});
  EXPECT_THROW(fold_nhwc(torch::zeros({25, 36}), nchw, 3, 1, 1), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::ops
