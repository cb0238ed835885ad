// Unfolding (im2col) and folding (col2im) of channels-last activations, for
// the GEMM ways of computing a convolution (conv.h).
//
// An unfolded row holds the input under one output position in (kh, kw, c)
// order, zero outside the map, so a convolution is the product of the rows
// with the weights as [O, k*k*C]; folding sums the gradient of each row back
// onto the input positions it read.
//
//   torch::Tensor cols = model::unfold_nhwc(x, k, s, p);  // [N, Ho, Wo, R]
//   model::fold_nhwc(d_cols, dx, k, s, p);                // dx: [N, C, H, W] NHWC
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "tessera/common/simd_dispatch.h"

namespace tessera::ops {

// The output size of a convolution along one dimension of size n.
std::int64_t conv_out_size(std::int64_t n, std::int64_t k, std::int64_t s, std::int64_t p);

// The length R of an unfolded row: k*k*C, rounded up to a multiple of 32
// when it is short (the zeros past k*k*C make AMX's 32-wide bf16 tiles fit).
std::int64_t unfolded_row_length(std::int64_t k, std::int64_t c);

// x [N, C, H, W] (any layout; reordered to channels-last first) ->
// [N, Ho, Wo, R] contiguous.
torch::Tensor unfold_nhwc(const torch::Tensor& x, std::int64_t k, std::int64_t s, std::int64_t p);

// The adjoint without the row padding: cols [N * Ho * Wo, k*k*C] (rows in
// unfold order) summed onto out [N, C, H, W], a channels-last tensor of
// cols' dtype, which it overwrites. Each input position gathers the rows
// that read it, in (kh, kw) order, in fp32 for bf16 and float (double for
// double), and is rounded once: no zero fill, no wider copy of the input.
// `simd` picks the bf16 loop's variant (common/simd_dispatch.h); every level
// gives the same bits.
void fold_nhwc(const torch::Tensor& cols, const torch::Tensor& out, std::int64_t k, std::int64_t s,
               std::int64_t p, common::SimdLevel simd = common::cpu_simd_level());

}  // namespace tessera::ops
