// One optimisation step on a batch of triplets: the anchors, neighbours and
// opposites go through the network as one batch of 3B tiles (so batch norm
// sees all of them, as in the original), then the objective (the study's
// triplet loss, or another of loss/objective.h) plus the L2 regularisation
// is minimised with Adam.
#pragma once

#include <functional>
#include <memory>

#include <torch/torch.h>

#include "tessera/device/fused_adam.h"
#include "tessera/loss/objective.h"
#include "tessera/model/resnet.h"

namespace tessera::train {

enum class Precision { kFp32, kBf16 };
Precision parse_precision(const std::string& name);
const char* precision_name(Precision precision);  // what parse_precision reads

// The layout of the activations. kAuto: on the CPU as the net's kernel
// options say (ops/kernel_options.h: by default channels-last (NHWC) for
// bf16, where oneDNN's bf16 kernels are faster on it, NCHW otherwise); on a
// GPU NHWC in both precisions, the layout cuDNN's tensor-core convolutions
// take. kNhwc: NHWC everywhere; fp32 on the CPU and every GPU run convert the
// weights to channels-last. kNchw: NCHW everywhere.
enum class Layout { kAuto, kNchw, kNhwc };
Layout parse_layout(const std::string& name);
const char* layout_name(Layout layout);  // what parse_layout reads

struct StepResult {
  double loss = 0, triplet_loss = 0, reg_loss = 0;
  double dist_neighbour = 0, dist_opposite = 0, active_fraction = 0;
  std::int64_t active = 0, count = 0;
};

// A queued step's metrics, still on its device: float64 [kValues] holding
// loss, triplet_loss, reg_loss, dist_neighbour, dist_opposite, active
// triplets and triplets. Reading them waits for the device to finish the
// step, so the trainer keeps several and reads them in one go.
struct StepMetrics {
  static constexpr int kValues = 7;
  torch::Tensor values;
  StepResult read() const;
};
// All of them with one copy to the host (one wait for the device).
std::vector<StepResult> read_metrics(const std::vector<StepMetrics>& metrics);
// A step's results from its kValues numbers (as laid out in StepMetrics).
StepResult step_result(const double* values);

// How a StepRunner runs its steps.
struct StepOptions {
  Precision precision = Precision::kFp32;
  Layout layout = Layout::kAuto;
  // The optimiser's update (fused_adam.h): auto is the fused kernel on a
  // GPU and LibTorch's per-parameter loop on the CPU.
  device::AdamUpdate adam = device::AdamUpdate::kAuto;
  // Capture the step in a CUDA graph once it has run cuda_graph_warmup
  // times at one batch shape, then replay the graph for every batch of that
  // shape (others, like an epoch's short last batch, run as they are). A
  // replay is one launch where the step is hundreds. It needs a GPU, the
  // fused update and one process (the gradient all-reduce is not captured).
  bool cuda_graph = false;
  // Steps before the capture: cuDNN, cuBLAS and autocast set themselves up
  // on their first calls, which a capture must not contain. They run on the
  // stream the capture will use, as PyTorch's CUDA-graph notes ask.
  int cuda_graph_warmup = 3;
  // Throws std::invalid_argument naming what does not fit `device`.
  void validate(const torch::Device& device) const;
};

class StepRunner {
 public:
  StepRunner(model::ResNet net, torch::optim::Adam& optimizer, loss::Objective loss,
             double l2_amount, torch::Device device, StepOptions options);
  StepRunner(model::ResNet net, torch::optim::Adam& optimizer, loss::Objective loss,
             double l2_amount, torch::Device device, Precision precision = Precision::kFp32,
             Layout layout = Layout::kAuto);
  ~StepRunner();
  // Whether this step's bf16 convolutions on the CPU run on NHWC
  // activations (Tessera's kernels; kNchw and kNhwc set the net's
  // bf16_channels_last kernel option accordingly), and whether the weights
  // and the input were converted to NHWC for LibTorch's convolutions.
  bool bf16_channels_last() const;
  bool channels_last_weights() const { return nhwc_; }
  // The update in use (kAuto resolved).
  device::AdamUpdate adam_update() const { return adam_; }
  // Queues one step on tiles shaped [3B, C, T, F] (anchors, neighbours,
  // opposites), moving them to the device first if they are not there. It
  // reads nothing back from the device: the update is applied whatever the
  // loss, and the caller checks the loss when it reads the metrics.
  // `recordings` ([3B] int64, optional) names each tile's recording, for
  // the objectives that draw negatives from the whole batch.
  StepMetrics run(const torch::Tensor& tiles, const torch::Tensor& recordings = {});
  // run() and read(): one step, waited for.
  StepResult step(const torch::Tensor& tiles, const torch::Tensor& recordings = {}) {
    return run(tiles, recordings).read();
  }
  // Steps run as replays of the captured graph (StepOptions::cuda_graph).
  std::int64_t graph_replays() const { return replays_; }
  // Hooked between backward() and the optimiser step: the distributed
  // gradient all-reduce goes here. A CUDA graph refuses it.
  std::function<void()> after_backward;

 private:
  // The step itself, queued on the current stream.
  StepMetrics queue_step(const torch::Tensor& tiles, const torch::Tensor& recordings);
  // A step under StepOptions::cuda_graph: warm-up, capture or replay.
  StepMetrics run_graphed(const torch::Tensor& tiles, const torch::Tensor& recordings);
  // Sets every parameter's gradient to undefined before a backward pass.
  void drop_gradients();

  model::ResNet net_;
  torch::optim::Adam& optimizer_;
  loss::Objective loss_;
  double l2_amount_;
  torch::Device device_;
  StepOptions options_;
  device::AdamUpdate adam_;
  std::unique_ptr<device::FusedAdam> fused_;
  bool nhwc_ = false;
  // CUDA-graph state: the shape it is for, steps run before the capture,
  // the stream of those and of the capture, the graph with its own input
  // and metrics tensors, and the replays so far.
  struct Graphed;
  std::unique_ptr<Graphed> graphed_;
  std::int64_t replays_ = 0;
};

// Converts the 4-D weights of a network to the channels-last (NHWC) layout
// that oneDNN's convolutions prefer.
void to_channels_last(torch::nn::Module& module);

}  // namespace tessera::train
