// One optimisation step on a batch of triplets: the anchors, neighbours and
// opposites go through the network as one batch of 3B tiles (so batch norm
// sees all of them, as in the original), then the triplet loss plus the L2
// regularisation is minimised with Adam.
#pragma once

#include <torch/torch.h>

#include "tessera/loss/triplet_loss.h"
#include "tessera/model/resnet.h"

namespace tessera::train {

enum class Precision { kFp32, kBf16 };
Precision parse_precision(const std::string& name);

// The layout of the activations. kAuto: as the net's kernel options say
// (ops/kernel_options.h: by default channels-last (NHWC) for bf16 on the
// CPU, where oneDNN's bf16 kernels are faster on it), NCHW otherwise.
// kNhwc: NHWC in bf16, and in fp32 too, through LibTorch's channels-last
// convolutions with the weights converted. kNchw: NCHW everywhere.
enum class Layout { kAuto, kNchw, kNhwc };
Layout parse_layout(const std::string& name);

struct StepResult {
  double loss = 0, triplet_loss = 0, reg_loss = 0;
  double dist_neighbour = 0, dist_opposite = 0, active_fraction = 0;
  std::int64_t active = 0, count = 0;
};

class StepRunner {
 public:
  StepRunner(model::ResNet net, torch::optim::Optimizer& optimizer, loss::TripletLoss loss,
             double l2_amount, torch::Device device, Precision precision = Precision::kFp32,
             Layout layout = Layout::kAuto);
  // Whether this step's bf16 convolutions run on NHWC activations, and
  // whether the fp32 weights were converted to NHWC. kNchw and kNhwc set the
  // net's bf16_channels_last kernel option accordingly.
  bool bf16_channels_last() const;
  bool fp32_channels_last() const { return fp32_nhwc_; }
  // Tiles as [batch, channels, frames, bins] float buffers.
  StepResult step(const float* anchor, const float* neighbour, const float* opposite, int batch,
                  int channels, int frames, int bins);
  // The same on tensors already shaped [3B, C, T, F] (anchors first).
  StepResult step(const torch::Tensor& tiles);
  // Hooked between backward() and the optimiser step: the distributed
  // gradient all-reduce goes here.
  std::function<void()> after_backward;

 private:
  model::ResNet net_;
  torch::optim::Optimizer& optimizer_;
  loss::TripletLoss loss_;
  double l2_amount_;
  torch::Device device_;
  Precision precision_;
  bool fp32_nhwc_ = false;
};

// Converts the 4-D weights of a network to the channels-last (NHWC) layout
// that oneDNN's convolutions prefer.
void to_channels_last(torch::nn::Module& module);

}  // namespace tessera::train
