// Batch norm with the ReLU and the residual add that follow it in a ResNet
// block, as one autograd operator with its own CPU kernels for bf16
// channels-last (NHWC) activations in training.
//
// Unfused, LibTorch 1.13 runs batch norm (two passes over its input, one
// written), the residual add and the ReLU as separate passes over memory,
// and their backward passes again: at Table 1's batch the bf16 activations
// (~2 GB) do not fit this machine's 300 MB L3, and per tile batch norm's
// backward became 2.35x and the ReLU's backward 2.7x as slow as at batch 16
// (docs/performance.md). Fused, the forward reads x twice and the residual
// once and writes y once; the backward reads the gradient, y (the ReLU mask)
// and x twice and writes the input gradient (and the residual's) once.
//
// Statistics are sums in fp32 over blocks of rows shifted by the first row
// (no cancellation where the mean is large against the spread), then added
// in fp64 block by block in a fixed order, so the result does not depend on
// the thread count. The running mean and (unbiased) variance and the batch
// counter are updated as BatchNorm2d does.
//
//   y = model::batch_norm(x, *bn, /*relu=*/true, residual);  // relu(bn(x) + residual)
//
// Any other case (fp32, NCHW, evaluation, another device, no affine
// parameters or running statistics) runs bn->forward(x), then add_ and
// relu_: fp32 stays bit-identical to plain LibTorch.
#pragma once

#include <torch/torch.h>

namespace tessera::model {

// relu(bn(x) + residual); the residual (optional) has x's shape, the ReLU
// is optional too.
torch::Tensor batch_norm(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn, bool relu,
                         const torch::Tensor& residual = {});

// Whether batch_norm() runs the fused kernels on these tensors.
bool batch_norm_fused(const torch::Tensor& x, const torch::nn::BatchNorm2dImpl& bn,
                      const torch::Tensor& residual = {});

// Off (TESSERA_FUSED_BATCH_NORM=off, or false here): the fallback
// everywhere, for measurements against LibTorch's own operators.
void set_batch_norm_fusion(bool enabled);

}  // namespace tessera::model
