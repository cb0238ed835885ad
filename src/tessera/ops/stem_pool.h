// The ResNet stem's batch norm and 3x3 max-pool (stride 2, padding 1) as one
// autograd operator, with its own CPU kernels for bf16 channels-last (NHWC)
// activations in training.
//
// bn(x) = x * scale + offset is monotone in x (or in -x, where the scale is
// negative), so the pool can compare x itself and normalise only its
// outputs: y = bn(x), four times the size of the output, is never written
// nor read back. The backward gets the batch norm's sums from the pooled
// gradient and the x values at its maxima, and writes the input gradient in
// one pass, without the pool's gradient in between. The pool keeps a 16-bit
// window position per output where LibTorch keeps an int64 index. Values
// are the composition's; the first maximum of each window in row-major
// order wins (the last NaN, when there is one), as in ATen, with ties broken
// on x before bn()'s rounding to bf16 (which can make neighbours equal), as
// an fp32 or fp64 composition would break them. Gradients where windows
// overlap are summed in fp32, then rounded once.
//
// A stand-alone pool of Tessera's own no longer earns its place: on
// LibTorch 2.11 the step ran no faster with it (docs/performance.md).
//
//   torch::Tensor z = ops::batch_norm_max_pool_3x3_s2(x, *bn, kernels);
//   // = torch::max_pool2d(ops::batch_norm(x, *bn, kernels, false), 3, 2, 1)
#pragma once

#include <torch/torch.h>

#include "tessera/ops/kernel_options.h"

namespace tessera::ops {

// Fused where batch_norm_fused(x, bn, kernels) (bf16 NHWC in training);
// otherwise exactly the composition above, LibTorch's max-pool included.
torch::Tensor batch_norm_max_pool_3x3_s2(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn,
                                         const KernelOptions& kernels);

}  // namespace tessera::ops
