// The ResNet family of the original study, for log-mel tiles
// [batch, channels, frames, mels]:
//   stem:  conv 7x7/2 (width filters), batch norm, ReLU, max-pool 3x3/2
//   body:  four stages of BasicBlocks (ResNet18: 2-2-2-2, ResNet34: 3-4-6-3)
//          or Bottlenecks (ResNet50: 3-4-6-3) with width x 1/2/4/8 filters,
//          stride 2 from stage 2 on, a 1x1 projection where the shape changes
//   head:  global average pooling, dropout 0.5 (training only), Linear to
//          embedding_size, L2 normalisation.
// Beyond the study (each off by default):
//   pooling "time_stats": the mean and the max over time of the last
//          stage's channels x frequency, concatenated, instead of the
//          average over time and frequency: which band holds the energy
//          survives into the pooled layer (BYOL-A's encoder);
//   head "mlp": Linear, ReLU, Linear between the pooled layer and the
//          embedding (SimCLR's projection head), so the layer below it can
//          keep what the loss does not ask for;
//   input_normalisation "dataset": tiles standardised with one mean and
//          standard deviation of the training set, buffers of the network
//          (set_input_statistics), so every later use applies the same.
// With input_normalisation "tile_mean" each tile's mean log-energy is
// subtracted first, so the embedding cannot encode recording level (a gain
// is a constant offset of a log-mel tile); "none" is the original study.
// Multi-channel input runs the network on each channel and concatenates the
// unit embeddings, scaled by 1/sqrt(channels) so the result is unit length.
//
//   ResNet net(ResNetOptions{});
//   torch::Tensor e = net->forward(tiles);  // [batch, embedding], |e| = 1
#pragma once

#include <string>
#include <utility>

#include <torch/torch.h>

#include "tessera/ops/conv_plan.h"
#include "tessera/ops/kernel_options.h"

namespace tessera::model {

enum class Pooling { kAverage, kTimeStats };
Pooling parse_pooling(const std::string& name);  // "average" or "time_stats"
std::string pooling_name(Pooling pooling);
enum class Head { kLinear, kMlp };
Head parse_head(const std::string& name);  // "linear" or "mlp"
std::string head_name(Head head);

struct ResNetOptions {
  int depth = 18;  // 18, 34 or 50
  int width = 64;  // filters of the first stage (Table 1: 64)
  int embedding_size = 512;
  double dropout = 0.5;
  std::string input_normalisation = "none";  // "tile_mean" or "dataset"
  Pooling pooling = Pooling::kAverage;
  Head head = Head::kLinear;
  int head_hidden = 512;  // the MLP head's hidden units
  int input_bins = 128;   // bins of a tile: the time statistics' size depends on it
  // Tessera's own CPU kernels for bf16 training (ops/kernel_options.h); they
  // change speed, not results beyond bf16 rounding. The conv tuner's
  // choices are the network's conv_plan(), saved with a run (train/trainer.h).
  ops::KernelOptions kernels;
  void validate() const;
  std::string name() const { return "ResNet" + std::to_string(depth); }
};

class BasicBlockImpl : public torch::nn::Module {
 public:
  static constexpr int kExpansion = 1;
  BasicBlockImpl(int in_planes, int planes, int stride);
  torch::Tensor forward(const torch::Tensor& x, const ops::KernelOptions& kernels,
                        ops::ConvPlan* plan);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(BasicBlock);

class BottleneckImpl : public torch::nn::Module {
 public:
  static constexpr int kExpansion = 4;
  BottleneckImpl(int in_planes, int planes, int stride);
  torch::Tensor forward(const torch::Tensor& x, const ops::KernelOptions& kernels,
                        ops::ConvPlan* plan);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(Bottleneck);

class ResNetImpl : public torch::nn::Module {
 public:
  explicit ResNetImpl(const ResNetOptions& options);
  // x: [B, C, frames, mels] -> unit embeddings [B, embedding_size].
  torch::Tensor forward(const torch::Tensor& x);
  // The representation the head projects: the pooled features of the last
  // stage, [B, C * pooled_size()] (channels concatenated). Linear probes of
  // self-supervised models are usually read here, before the head.
  torch::Tensor pooled(const torch::Tensor& x);
  int pooled_size() const { return pooled_size_; }
  // The last stage's feature maps of single-channel tiles [B, 1, T, F]:
  // [B, C, T', F'], what pooled() summarises.
  torch::Tensor body(const torch::Tensor& x);
  // The training set's mean and standard deviation of the input, used with
  // input_normalisation "dataset" (saved with the weights).
  void set_input_statistics(double mean, double std);
  std::pair<double, double> input_statistics() const;
  const ResNetOptions& options() const { return options_; }
  // Chooses the kernels of later forward passes (the step runner turns
  // channels-last off for an NCHW layout).
  void set_kernels(const ops::KernelOptions& kernels) { options_.kernels = kernels; }
  // The conv tuner's choices for this network (ops/conv_plan.h): empty at
  // construction, filled as bf16 layer shapes are first seen, or given a
  // saved plan to take the same computations as the run that made it.
  ops::ConvPlan& conv_plan() { return *conv_plan_; }
  const ops::ConvPlan& conv_plan() const { return *conv_plan_; }

 private:
  torch::Tensor embed_one_channel(const torch::Tensor& x);   // [B, 1, T, F]
  torch::Tensor pooled_one_channel(const torch::Tensor& x);  // [B, 1, T, F]
  torch::Tensor per_channel(const torch::Tensor& x, int size, bool unit,
                            torch::Tensor (ResNetImpl::*one)(const torch::Tensor&));

  ResNetOptions options_;
  std::shared_ptr<ops::ConvPlan> conv_plan_;
  torch::nn::Conv2d stem_conv_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  torch::nn::ModuleList stages_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear head_hidden_{nullptr};  // the MLP head's first layer
  torch::nn::Linear head_{nullptr};
  torch::Tensor input_mean_, input_std_;  // input_normalisation "dataset"
  int pooled_size_ = 0;
};
TORCH_MODULE(ResNet);

std::int64_t parameter_count(ResNet& net);

// The frequency bins left after the stem and the three strided stages.
int pooled_bins(int input_bins);

// Multiply-accumulates of the convolutions and the head in one forward pass
// of one single-channel tile of frames x bins (batch norm, ReLU and pooling,
// a few percent, are not counted). A training step costs about three times
// the forward pass: the backward pass needs two products per layer.
std::int64_t forward_macs(const ResNetOptions& options, int frames, int bins);

}  // namespace tessera::model
