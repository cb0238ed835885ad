// A 2-D convolution (no bias, square kernel, equal stride and padding) whose
// bf16 computations are picked per layer shape, the faster of several.
//
// LibTorch 1.13's oneDNN bf16 convolutions on the CPU are fast on some of
// ResNet18's layers and slow on others: at batch 48 of 198x128 tiles the
// weight gradient of a 512->512 3x3 layer on 7x4 maps took 57 ms in oneDNN
// against 12 ms as one matrix product of the unfolded input (im2col) with the
// output gradient, while on the 64->64 layers on 50x32 maps oneDNN took 12 ms
// against 35 (docs/history/performance-libtorch-1.13.md). So each (shape, dtype, layout) is timed
// every way the first time it is seen, on at most 48 samples (each way's
// fastest of three interleaved rounds, common/fastest.h), and the fastest
// is kept for the process:
//   forward:  oneDNN, or im2col + GEMM (channels-last only);
//   input gradient: oneDNN's backward, col2im of a GEMM, or (stride 1) the
//     forward convolution of the output gradient with the flipped weights,
//     which runs oneDNN's faster forward kernels;
//   weight gradient: oneDNN's backward, or im2col + GEMM.
// fp32 keeps the library's convolution everywhere, and so stays bit-identical
// to plain LibTorch; so do other devices.
//
// Stride-2 convolutions of up to 4 input channels (the stem, 7x7 on one
// channel) run as stride-1 ones on the input's four phase planes, where
// oneDNN's forward took 4.8 ms against 30 (conv2d_space_to_depth below).
//
// Channels-last: inside a Bf16ChannelsLast scope, bf16 convolutions take
// their input in NHWC and give NHWC (the weights are reordered as they are
// cast to bf16, so the fp32 master weights keep their layout). oneDNN's bf16
// forward runs 1.1-2.8x faster on NHWC here, and batch norm, ReLU, pooling
// and the residual adds follow the layout of their input.
//
//   torch::Tensor y = model::conv2d(x, conv->weight, stride, padding);
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

namespace tessera::model {

torch::Tensor conv2d(const torch::Tensor& x, const torch::Tensor& weight, int stride, int padding);

// While one lives, bf16 convolutions on this thread run on channels-last
// activations (above). Scopes nest; the previous setting comes back.
class Bf16ChannelsLast {
 public:
  explicit Bf16ChannelsLast(bool on = true);
  ~Bf16ChannelsLast();
  Bf16ChannelsLast(const Bf16ChannelsLast&) = delete;
  Bf16ChannelsLast& operator=(const Bf16ChannelsLast&) = delete;

 private:
  bool previous_;
};
bool bf16_channels_last();

// The computations, exposed for tests and benchmarks. x [N, C, H, W],
// weight [O, C, k, k], grad_out [N, O, Ho, Wo]. The gemm ones work on the
// layout of their first argument: NCHW-contiguous or channels-last, and
// return the same layout (a one-channel tensor is both, and counts as NHWC).
torch::Tensor conv2d_forward_gemm(const torch::Tensor& x, const torch::Tensor& weight, int stride,
                                  int padding);
torch::Tensor conv2d_weight_grad_gemm(const torch::Tensor& grad_out, const torch::Tensor& input,
                                      int kernel, int stride, int padding);
torch::Tensor conv2d_input_grad_gemm(const torch::Tensor& grad_out, const torch::Tensor& weight,
                                     int height, int width, int stride, int padding);
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

// What the tuner chose so far, one line per layer shape ("" if nothing yet):
// "BFloat16 nhwc x[512,7,4] w[512,512,3,3] s1 p1: forward gemm 13.3 ms (library 17.2),
//  weight gemm 11.7 ms (library 56.7), input gemm 11.8 ms (library 35.1, flipped 17.6)"
// (per-sample input shape; times on the tuning samples).
std::vector<std::string> conv_backward_choices();

// Off (TESSERA_CONV_TUNING=off, or false here): the library's computations
// everywhere, as plain LibTorch (channels-last scopes still apply).
void set_conv_tuning(bool enabled);
bool conv_tuning_enabled();

}  // namespace tessera::model
