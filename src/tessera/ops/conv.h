// A 2-D convolution (no bias, square kernel, equal stride and padding) whose
// bf16 computations on the CPU are picked per layer shape, the faster of
// several.
//
// oneDNN's bf16 convolutions are fast on some of ResNet18's layers and slow
// on others: on small maps with many channels (stage 4) a weight gradient
// computed as one matrix product of the unfolded input (im2col) with the
// output gradient has beaten oneDNN's backward several times over, while on
// the large maps of stage 1 oneDNN wins. The tuner removes the guess: each
// (shape, dtype, layout) is timed every way the first time it is seen, on
// at most 48 samples (each way's fastest of three interleaved rounds,
// common/fastest.h), and the fastest is kept in the network's plan
// (ops/conv_plan.h), which a run saves and a later run can reuse:
//   forward:  oneDNN, or im2col + GEMM (channels-last only);
//   input gradient: oneDNN's backward, col2im of a GEMM, or (stride 1) the
//     forward convolution of the output gradient with the flipped weights,
//     which runs oneDNN's faster forward kernels;
//   weight gradient: oneDNN's backward, or im2col + GEMM.
// Stride-2 convolutions of up to 4 input channels (the stem, 7x7 on one
// channel) run as stride-1 ones on the input's four phase planes
// (conv2d_space_to_depth below), where oneDNN's NHWC kernels are faster.
// docs/performance.md measures the whole training step with and without
// the tuner; docs/history/performance-libtorch-1.13.md has the per-layer
// timings that motivated it.
//
// With KernelOptions::bf16_channels_last, bf16 convolutions take their input
// in NHWC and give NHWC (the weights are reordered as they are cast to bf16,
// so the fp32 master weights keep their layout); batch norm, ReLU, pooling
// and the residual adds follow the layout of their input.
//
// fp32, other devices, and conv_tuning off run LibTorch's convolution, so
// fp32 stays bit-identical to plain LibTorch.
//
//   torch::Tensor y = ops::conv2d(x, conv->weight, stride, padding, kernels, &plan);
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "tessera/ops/conv_plan.h"
#include "tessera/ops/kernel_options.h"

namespace tessera::ops {

// `plan` keeps the tuner's choices and gives those it holds; it must
// outlive the backward pass, and may be null only where nothing is tuned
// (fp32, other devices, conv_tuning off), else std::invalid_argument.
torch::Tensor conv2d(const torch::Tensor& x, const torch::Tensor& weight, int stride, int padding,
                     const KernelOptions& kernels, ConvPlan* plan);

// The computations, exposed for tests and benchmarks. x [N, C, H, W],
// weight [O, C, k, k], grad_out [N, O, Ho, Wo]. The gemm ones work on the
// layout of their first argument: NCHW-contiguous or channels-last, and
// return the same layout (a one-channel tensor is both, and counts as NHWC).
torch::Tensor conv2d_forward_gemm(const torch::Tensor& x, const torch::Tensor& weight, int stride,
                                  int padding);
torch::Tensor conv2d_weight_grad_gemm(const torch::Tensor& grad_out, const torch::Tensor& input,
                                      int kernel, int stride, int padding);
torch::Tensor conv2d_input_grad_gemm(const torch::Tensor& grad_out, const torch::Tensor& weight,
                                     int height, int width, int stride, int padding,
                                     common::SimdLevel simd = common::cpu_simd_level());
// Stride 1 only: the forward convolution of grad_out with the weights
// flipped in space and transposed, padded by kernel - 1 - padding.
torch::Tensor conv2d_input_grad_flipped(const torch::Tensor& grad_out, const torch::Tensor& weight,
                                        int padding);

// A stride-2 convolution as a stride-1 one on the input's four phase planes
// (space to depth), by LibTorch's convolution, differentiable. bf16
// convolutions on NHWC with up to 4 input channels (the stem) run this way,
// through the tuner.
torch::Tensor conv2d_space_to_depth(const torch::Tensor& x, const torch::Tensor& weight,
                                    int padding);

}  // namespace tessera::ops
