// Batch norm with the ReLU and the residual add that follow it in a ResNet
// block, as one autograd operator with its own CPU kernels for bf16
// channels-last (NHWC) activations in training.
//
// Unfused, LibTorch runs batch norm (two passes over its input, one
// written), the residual add and the ReLU as separate passes over memory,
// and their backward passes again; at Table 1's batch the bf16 activations
// (~2 GB) are far larger than any CPU cache, so the step is bound by those
// passes. Fused, the forward reads x twice and the residual once and writes
// y once; the backward reads the gradient, y (the ReLU mask) and x twice and
// writes the input gradient (and the residual's) once. docs/performance.md
// measures the step with and without it.
//
// Statistics are sums in fp32 over blocks of rows shifted by the first row
// (no cancellation where the mean is large against the spread), then added
// in fp64 block by block in a fixed order, so the result does not depend on
// the thread count. The running mean and (unbiased) variance and the batch
// counter are updated as BatchNorm2d does.
//
//   y = ops::batch_norm(x, *bn, kernels, /*relu=*/true, residual);  // relu(bn(x) + residual)
//
// Any other case (fp32, NCHW, evaluation, another device, no affine
// parameters or running statistics, KernelOptions::fused_batch_norm off)
// runs bn->forward(x), then add_ and relu_: fp32 stays bit-identical to
// plain LibTorch.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "tessera/ops/kernel_options.h"

namespace tessera::ops {

// relu(bn(x) + residual); the residual (optional) has x's shape, the ReLU
// is optional too.
torch::Tensor batch_norm(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn,
                         const KernelOptions& kernels, bool relu,
                         const torch::Tensor& residual = {});

// Whether batch_norm() runs the fused kernels on these tensors.
bool batch_norm_fused(const torch::Tensor& x, const torch::nn::BatchNorm2dImpl& bn,
                      const KernelOptions& kernels, const torch::Tensor& residual = {});

// The pieces of the fused operator, for kernels that fuse the batch norm
// with what follows it (the stem's max-pool, stem_pool.h). Activations are
// bf16 channels-last, parameters fp32; per-channel vectors are in channel
// order.

// The batch statistics of x, and bn(x) = x * scale + offset.
struct BatchNormStatistics {
  torch::Tensor mean, invstd;  // fp32 [C], for the backward
  std::vector<float> scale, offset;
};
// Also updates the running mean and (unbiased) variance with this momentum.
BatchNormStatistics batch_norm_statistics(const torch::Tensor& x, const torch::Tensor& weight,
                                          const torch::Tensor& bias, torch::Tensor& running_mean,
                                          torch::Tensor& running_var, double momentum, double eps,
                                          common::SimdLevel simd);

// The parameter gradients, and the input gradient dx = gm * scale +
// (x - mean) * slope + offset, where gm is the output gradient (zero where
// y, when given, is <= 0: the ReLU's gradient).
struct BatchNormGradient {
  torch::Tensor dweight, dbias;  // fp32 [C]
  std::vector<float> mean, scale, slope, offset;
};
// g, y and x hold the same rows: all `rows` of the batch norm's input, or
// any rows with the same sums of gm and of gm * (x - mean) (the stem's
// pooled gradient with the x values of the maxima it came from).
BatchNormGradient batch_norm_gradient(const torch::Tensor& g, const torch::Tensor& y,
                                      const torch::Tensor& x, const torch::Tensor& mean,
                                      const torch::Tensor& invstd, const torch::Tensor& weight,
                                      std::int64_t rows, common::SimdLevel simd);

// Counts a training batch as BatchNorm2d's forward does and returns the
// momentum of this update (1 / batches so far without a momentum).
double count_batch(torch::nn::BatchNorm2dImpl& bn);

}  // namespace tessera::ops
