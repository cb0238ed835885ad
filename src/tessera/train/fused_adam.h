// Adam (Kingma & Ba, 2015), as torch::optim::Adam computes it, with each
// parameter's update in one pass over its memory.
//
// LibTorch 1.13's Adam updates a parameter with eight tensor operations
// (two each for the moments, three for the denominator, one for the step),
// each a pass over the parameter's size, and the denominator in a fresh
// temporary: about twenty parameter-sized reads and writes per step, where
// one pass needs seven (read the parameter, its gradient and both moments;
// write the parameter and the moments). For ResNet18 at width 64 that is
// ~45 MB per tensor-sized pass, a memory-bound cost that does not shrink
// with the batch or the precision, so it weighs most in small bf16 steps
// (docs/history/performance-libtorch-1.13.md).
//
// It is a torch::optim::Adam: the same AdamOptions (validated by Adam's
// constructor), the same per-parameter state (step, exp_avg, exp_avg_sq,
// max_exp_avg_sq) under the same keys, so checkpoints, set_lr and code that
// takes an Adam& work unchanged, and a run saved with one resumes with the
// other. Parameters that are not dense fp32 on the CPU, or whose gradient or
// moments are laid out differently, take the same formula as tensor
// operations. The result agrees with torch::optim::Adam to rounding (FMA
// and operation order differ); it is the same bits on any thread count and
// CPU dispatch (no FMA contraction, no reductions).
//
//   train::FusedAdam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
//   loss.backward();
//   adam.step();
#pragma once

#include <vector>

#include <torch/torch.h>

namespace tessera::train {

class FusedAdam : public torch::optim::Adam {
 public:
  FusedAdam(std::vector<torch::Tensor> params, torch::optim::AdamOptions options = {});
  // Skips parameters without a gradient, as Adam does.
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace tessera::train
