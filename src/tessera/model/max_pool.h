// The ResNet stem's 3x3 max-pool with stride 2 and padding 1, as an autograd
// operator with its own CPU kernels.
//
// LibTorch 1.13's CPU max_pool2d on NCHW tensors was 7-18% of a ResNet18
// training step on 198x128 tiles (docs/performance.md): ~100 ms forward for
// [48, 64, 99, 64] in fp32 or bf16, and it writes an int64 index per output.
// This kernel keeps a one-byte window position per output instead, and
// gives the same values and gradients: the first maximum of each window in
// row-major order wins (the last NaN, when there is one), and where windows
// overlap their gradients add up. bf16 gradients are summed in fp32, then
// rounded once.
//
// bf16 channels-last tensors (bf16 training's layout) have kernels of their
// own with the same rules: LibTorch's NHWC pooling zero-fills its gradient
// first, 594 ms of a Table 1 step (docs/performance.md); these compare 32
// channels per vector, keep a 16-bit position per output, and write each
// input's gradient once, gathered from the up to 4 windows that hold it.
// [48, 64, 99, 64], 2 threads: forward 6.0 ms against 11.5, forward and
// backward 20.0 against 22.5 (bench/model_bench, BM_StemMaxPool).
//
//   torch::Tensor y = model::max_pool_3x3_s2(x);  // [N, C, H, W] -> [N, C, (H+1)/2, (W+1)/2]
#pragma once

#include <torch/torch.h>

namespace tessera::model {

// Float and bf16 NCHW tensors and bf16 channels-last (NHWC) tensors on the
// CPU use the kernels above (NHWC ones give NHWC); any other tensor goes to
// torch::max_pool2d.
torch::Tensor max_pool_3x3_s2(const torch::Tensor& x);

}  // namespace tessera::model
