// Adam's update of every parameter at once, with ATen's fused kernel
// (_fused_adam_, the kernel torch.optim.Adam(fused=True) runs): on a GPU one
// multi-tensor launch per step where torch::optim::Adam::step() launches
// several kernels per parameter.
//
// The state stays torch::optim::Adam's own (exp_avg, exp_avg_sq, the step
// count), so checkpoints are the same whichever update wrote them, and a run
// may change update between a stop and its resume. The kernel reads its step
// counts and the learning rate from device tensors that this class keeps:
// nothing of a step is decided on the host, which is what lets a CUDA graph
// replay the update (train_step.h). The host's step counts are advanced
// alongside, without reading the device.
//
// The arithmetic is Adam's, rounded differently: the kernel computes each
// element's update in one expression, the loop in separate tensor ops, and
// the learning rate enters as float32. The two agree to float precision, not
// bit for bit (tests/device/fused_adam_test.cpp).
//
//   torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
//   FusedAdam fused(adam);
//   loss.backward();
//   fused.step();            // in place of adam.step()
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace tessera::device {

// Which update a training step applies. kAuto: kFused on a GPU, kLoop on the
// CPU (where the loop's results are the reference every CPU test and demo
// was written against).
enum class AdamUpdate { kAuto, kLoop, kFused };
AdamUpdate parse_adam_update(const std::string& name);
// The name parse_adam_update() reads.
const char* adam_update_name(AdamUpdate update);
// kAuto made definite for `device`.
AdamUpdate resolve_adam_update(AdamUpdate update, const torch::Device& device);

class FusedAdam {
 public:
  explicit FusedAdam(torch::optim::Adam& adam);
  // Queues the update of every parameter that has a gradient, as
  // adam.step() would apply it; parameters without one are skipped and keep
  // their step count, as there. Reads nothing back from the device.
  void step();
  // Refills the device learning rates from the groups' current ones, so
  // that a step() captured next queues no fill of its own (a captured fill
  // would replay the rate of the capture forever).
  void refresh_learning_rates();
  // Declares the last step() captured by a CUDA graph: prepare_replay() and
  // relaunch() refer to its kernels and parameters from now on, whatever
  // step() runs in between (an eager step of another batch shape).
  void keep_last_step_for_replay();
  // Before each replay of the kept step: the learning rates it reads are
  // refilled from the groups' current ones, and the host step counts it
  // advances are advanced. Throws std::logic_error when no step was kept,
  // or when the state was replaced since (a load), which the graph would
  // not see.
  void prepare_replay();
  // Queues the kept step's kernels again, on the same tensors: what a replay
  // of the graph runs (prepare_replay() first). The tests use it to check
  // replays on the CPU.
  void relaunch();

 private:
  // The state of `p`, made as Adam makes it on a parameter's first step.
  torch::optim::AdamParamState& state_of(const torch::Tensor& p,
                                         const torch::optim::AdamOptions& o);
  // The device step count of `p`, the host's count before this step. It is
  // refilled in place (so a captured graph keeps reading it) when the host's
  // count is not the one this class left there: a first step, state loaded
  // from a checkpoint, or a step of the loop in between.
  const torch::Tensor& step_count(const torch::Tensor& p,
                                  const torch::optim::AdamParamState& state);
  // The learning rate as the kernel reads it: a float32 scalar on `device`,
  // refilled only when the group's rate changes.
  const torch::Tensor& learning_rate(std::size_t group, double lr, const torch::Device& device);

  torch::optim::Adam& adam_;
  // Per parameter (by TensorImpl, as Adam keys its state): the host count
  // the device count equals after the last step, and the device count.
  std::unordered_map<const void*, std::pair<std::int64_t, torch::Tensor>> counts_;
  std::vector<std::pair<double, torch::Tensor>> lrs_;  // per group
  // The last step()'s kernel arguments, per group with gradients.
  struct Launch {
    std::size_t group = 0;
    std::vector<const void*> keys;  // the parameters' TensorImpls
    std::vector<torch::Tensor> params, grads, avgs, squares, maxima, counts;
  };
  void launch(const Launch& l);
  // Refills the learning rates `launches` read.
  void refresh(const std::vector<Launch>& launches);
  std::vector<Launch> last_, kept_;
};

}  // namespace tessera::device
