// The ResNet stem's 3x3 max-pool with stride 2 and padding 1, as an autograd
// operator with its own CPU kernels.
//
// LibTorch 1.13's CPU max_pool2d on NCHW tensors was 7-18% of a ResNet18
// training step on 198x128 tiles (docs/history/performance-libtorch-1.13.md): ~100 ms forward for
// [48, 64, 99, 64] in fp32 or bf16, and it writes an int64 index per output.
// This kernel keeps a one-byte window position per output instead, and
// gives the same values and gradients: the first maximum of each window in
// row-major order wins (the last NaN, when there is one), and where windows
// overlap their gradients add up. bf16 gradients are summed in fp32, then
// rounded once.
//
// bf16 channels-last tensors (bf16 training's layout) have kernels of their
// own with the same rules: LibTorch's NHWC pooling zero-fills its gradient
// first, 594 ms of a Table 1 step (docs/history/performance-libtorch-1.13.md); these compare 32
// channels per vector, keep a 16-bit position per output, and write each
// input's gradient once, gathered from the up to 4 windows that hold it.
// [48, 64, 99, 64], 2 threads: forward 6.0 ms against 11.5, forward and
// backward 20.0 against 22.5 (bench/model_bench, BM_StemMaxPool).
//
// The stem's batch norm can run inside the NHWC pool (the second function
// below): the batch norm and pool of [48, 64, 99, 64], forward and
// backward, then take 33 ms instead of 53 (BM_StemBatchNormMaxPool).
//
//   torch::Tensor y = model::max_pool_3x3_s2(x);  // [N, C, H, W] -> [N, C, (H+1)/2, (W+1)/2]
//   torch::Tensor z = model::batch_norm_max_pool_3x3_s2(x, *bn);  // max_pool_3x3_s2(bn(x))
#pragma once

#include <torch/torch.h>

namespace tessera::model {

// Float and bf16 NCHW tensors and bf16 channels-last (NHWC) tensors on the
// CPU use the kernels above (NHWC ones give NHWC); any other tensor goes to
// torch::max_pool2d.
torch::Tensor max_pool_3x3_s2(const torch::Tensor& x);

// max_pool_3x3_s2(batch_norm(x, bn, /*relu=*/false)), the ResNet stem, as
// one operator where batch_norm_fused(x, bn) (bf16 NHWC in training);
// otherwise exactly that composition.
//
// Fused, the pool compares x itself (with the sign of each channel's
// scale) and normalises only its outputs; y = bn(x), 4x the size of the
// output, is never written. The backward gets the batch norm's sums from
// the pooled gradient and the x values at its maxima, and writes the
// input gradient in one pass, without the pool's bf16 gradient in between.
// Values are the composition's; ties are broken on x, before bn()'s
// rounding to bf16 (which can make neighbours equal), as an fp32 or fp64
// composition would break them.
torch::Tensor batch_norm_max_pool_3x3_s2(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn);

}  // namespace tessera::model
