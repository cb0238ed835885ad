// A 2-D convolution (no bias, square kernel, equal stride and padding) whose
// backward pass picks the faster of two computations per layer shape.
//
// LibTorch 1.13's oneDNN backward for bf16 on the CPU is slow on some of
// ResNet18's layers: at batch 48 of 198x128 tiles the weight gradient of a
// 512->512 3x3 layer on 7x4 maps took 41 ms against 22 ms as one matrix
// product of the unfolded input (im2col) with the output gradient, and the
// stride-2 256->512 layer 38 ms against 6 (docs/performance.md). On other
// layers oneDNN wins by up to 13x. So each (shape, dtype) is timed both ways
// the first time it is seen and the faster is kept for the process. fp32
// keeps the library's backward everywhere (the products never won there),
// and so stays bit-identical to plain LibTorch; so do other devices.
//
//   torch::Tensor y = model::conv2d(x, conv->weight, stride, padding);
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

namespace tessera::model {

torch::Tensor conv2d(const torch::Tensor& x, const torch::Tensor& weight, int stride, int padding);

// The two computations of the gradients, exposed for tests and benchmarks.
// grad_out [N, O, Ho, Wo], input [N, C, H, W], weight [O, C, k, k].
torch::Tensor conv2d_weight_grad_gemm(const torch::Tensor& grad_out, const torch::Tensor& input,
                                      int kernel, int stride, int padding);
torch::Tensor conv2d_input_grad_gemm(const torch::Tensor& grad_out, const torch::Tensor& weight,
                                     int height, int width, int stride, int padding);

// What the tuner chose so far, one line per layer shape ("" if nothing yet):
// "BFloat16 x[512,7,4] w[512,512,3,3] s1 p1: weight gemm 22.1 ms (library 41.5), input library ..."
// (per-sample input shape; times on the tuning samples).
std::vector<std::string> conv_backward_choices();

// Off (TESSERA_CONV_TUNING=off, or false here): the library's backward
// everywhere, as plain LibTorch.
void set_conv_tuning(bool enabled);
bool conv_tuning_enabled();

}  // namespace tessera::model
