// The fused Adam update (device/fused_adam.h) against LibTorch's own Adam
// loop, which is the reference: the same parameters, gradients and
// schedule must give the same weights to float precision, and the state
// each writes must continue under the other.
#include "tessera/device/fused_adam.h"

#include <sstream>

#include <gtest/gtest.h>

namespace tessera::device {
namespace {

// Parameters of the shapes a ResNet has: a channels-last convolution
// weight, a matrix, and vectors.
std::vector<torch::Tensor> parameters() {
  torch::manual_seed(3);
  std::vector<torch::Tensor> ps = {
      torch::randn({8, 4, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast), torch::randn({16, 8}),
      torch::randn({16}), torch::randn({5})};
  for (auto& p : ps) p.requires_grad_(true);
  return ps;
}

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor>& ps) {
  std::vector<torch::Tensor> out;
  for (const auto& p : ps) {
    out.push_back(p.detach().clone(at::MemoryFormat::Preserve).requires_grad_(true));
  }
  return out;
}

// Step `step`'s gradients, the same for every run. With `skips`, the last
// parameter has none on every third step.
void set_gradients(std::vector<torch::Tensor>& ps, int step, bool skips = true) {
  auto gen = at::detail::createCPUGenerator(std::uint64_t(100 + step));
  for (std::size_t i = 0; i < ps.size(); ++i) {
    if (skips && i + 1 == ps.size() && step % 3 == 0) {
      ps[i].mutable_grad().reset();
      continue;
    }
    ps[i].mutable_grad() =
        at::randn(ps[i].sizes(), gen, torch::kFloat32).contiguous(ps[i].suggest_memory_format());
  }
}

void set_lr(torch::optim::Adam& adam, double lr) {
  for (auto& g : adam.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
}

// Steps [from, to) with the learning rate halved from step 10 on.
void run(torch::optim::Adam& adam, std::vector<torch::Tensor>& ps, FusedAdam* fused, int from,
         int to) {
  for (int s = from; s < to; ++s) {
    set_lr(adam, s < 10 ? 1e-2 : 5e-3);
    set_gradients(ps, s);
    if (fused) {
      fused->step();
    } else {
      adam.step();
    }
  }
}

// The largest difference between two sets of weights, in units of the
// largest distance any weight moved from `start`.
double relative_gap(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b,
                    const std::vector<torch::Tensor>& start) {
  double gap = 0, moved = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    gap = std::max(gap, (a[i] - b[i]).abs().max().item<double>());
    moved = std::max(moved, (a[i] - start[i]).abs().max().item<double>());
  }
  EXPECT_GT(moved, 0.05) << "the runs did not move the weights";
  return gap / moved;
}

std::int64_t step_of(torch::optim::Adam& adam, const torch::Tensor& p) {
  return static_cast<torch::optim::AdamParamState&>(*adam.state().at(p.unsafeGetTensorImpl()))
      .step();
}

std::string saved(const torch::optim::Adam& adam) {
  torch::serialize::OutputArchive out;
  adam.save(out);
  std::ostringstream s;
  out.save_to(s);
  return s.str();
}

void load(torch::optim::Adam& adam, const std::string& bytes) {
  torch::serialize::InputArchive in;
  std::istringstream s(bytes);
  in.load_from(s);
  adam.load(in);
}

struct Case {
  double weight_decay;
  bool amsgrad;
};
void PrintTo(const Case& c, std::ostream* os) {
  *os << "weight_decay " << c.weight_decay << (c.amsgrad ? ", amsgrad" : "");
}

class FusedAdamTest : public ::testing::TestWithParam<Case> {
 protected:
  torch::optim::AdamOptions options() const {
    return torch::optim::AdamOptions(1e-2)
        .weight_decay(GetParam().weight_decay)
        .amsgrad(GetParam().amsgrad);
  }
};

// 30 steps with a schedule and a parameter that skips steps: the fused
// update ends where the loop does, each parameter's host step count too.
TEST_P(FusedAdamTest, EndsWhereTheLoopEnds) {
  const auto start = parameters();
  auto loop_ps = copies(start), fused_ps = copies(start);
  torch::optim::Adam loop(loop_ps, options()), adam(fused_ps, options());
  FusedAdam fused(adam);
  run(loop, loop_ps, nullptr, 0, 30);
  run(adam, fused_ps, &fused, 0, 30);
  EXPECT_LT(relative_gap(fused_ps, loop_ps, start), 1e-5);
  for (std::size_t i = 0; i < start.size(); ++i) {
    EXPECT_EQ(step_of(adam, fused_ps[i]), step_of(loop, loop_ps[i])) << "parameter " << i;
  }
  EXPECT_EQ(step_of(adam, fused_ps.back()), 20);  // steps 0, 3, ..., 27 had no gradient
  EXPECT_TRUE(fused_ps[0].is_contiguous(at::MemoryFormat::ChannelsLast));
}

// State written by either update continues under the other, as a
// checkpoint taken by one run and resumed with the other update would: the
// loop's 12 steps then the fused update's 18, the reverse, and the fused
// update given back older state (a load after it has run) all end where
// 30 steps of the loop do.
TEST_P(FusedAdamTest, ContinuesStateEitherUpdateWrote) {
  const auto start = parameters();
  auto ref_ps = copies(start);
  torch::optim::Adam ref(ref_ps, options());
  run(ref, ref_ps, nullptr, 0, 30);

  for (const bool fused_first : {false, true}) {
    SCOPED_TRACE(fused_first ? "fused, then the loop" : "the loop, then fused");
    auto ps = copies(start);
    std::string state;
    {
      torch::optim::Adam first(ps, options());
      FusedAdam fused(first);
      run(first, ps, fused_first ? &fused : nullptr, 0, 12);
      state = saved(first);
    }
    torch::optim::Adam second(ps, options());
    load(second, state);
    FusedAdam fused(second);
    run(second, ps, fused_first ? nullptr : &fused, 12, 30);
    EXPECT_LT(relative_gap(ps, ref_ps, start), 1e-5);
    EXPECT_EQ(step_of(second, ps[0]), 30);
  }

  // One FusedAdam throughout; after 20 steps its optimiser is given back the
  // state (and the weights) of step 12.
  auto ps = copies(start);
  torch::optim::Adam adam(ps, options());
  FusedAdam fused(adam);
  run(adam, ps, &fused, 0, 12);
  const std::string at12 = saved(adam);
  const auto weights12 = copies(ps);
  run(adam, ps, &fused, 12, 20);
  load(adam, at12);
  {
    torch::NoGradGuard g;
    for (std::size_t i = 0; i < ps.size(); ++i) ps[i].copy_(weights12[i]);
  }
  run(adam, ps, &fused, 12, 30);
  EXPECT_LT(relative_gap(ps, ref_ps, start), 1e-5);
}

// What a CUDA graph that captured one fused step does on each replay, run
// on the CPU: new gradients in the captured gradient tensors,
// prepare_replay(), and the same kernels again. The learning rate changes
// between replays, and step 12 runs eagerly with one parameter lacking a
// gradient (the trainer's short last batch runs eagerly too). The result
// is the loop's, and so are the host step counts a checkpoint saves. State
// loaded after the capture is refused.
TEST_P(FusedAdamTest, ReplaysOfOneStepContinueLikeSteps) {
  const auto start = parameters();
  auto loop_ps = copies(start), fused_ps = copies(start);
  torch::optim::Adam loop(loop_ps, options()), adam(fused_ps, options());
  FusedAdam fused(adam);
  std::vector<torch::Tensor> captured;  // the gradient tensors the graph writes
  for (int s = 0; s < 20; ++s) {
    const double lr = s < 10 ? 1e-2 : 5e-3;
    const bool eager = s == 0 || s == 12;
    set_lr(loop, lr);
    set_gradients(loop_ps, s, /*skips=*/s == 12);
    loop.step();
    set_lr(adam, lr);
    if (eager) {
      set_gradients(fused_ps, s, /*skips=*/s == 12);
      fused.step();
      if (s == 0) {
        fused.keep_last_step_for_replay();
        for (const auto& p : fused_ps) captured.push_back(p.grad());
      }
    } else {
      auto replayed = copies(fused_ps);  // gradients of this step, in fresh tensors
      set_gradients(replayed, s, /*skips=*/false);
      for (std::size_t i = 0; i < captured.size(); ++i) captured[i].copy_(replayed[i].grad());
      fused.prepare_replay();
      fused.relaunch();
    }
  }
  EXPECT_LT(relative_gap(fused_ps, loop_ps, start), 1e-5);
  for (std::size_t i = 0; i < fused_ps.size(); ++i) {
    EXPECT_EQ(step_of(adam, fused_ps[i]), i + 1 < fused_ps.size() ? 20 : 19) << "parameter " << i;
  }

  load(adam, saved(loop));
  EXPECT_THROW(fused.prepare_replay(), std::logic_error);
}

INSTANTIATE_TEST_SUITE_P(Options, FusedAdamTest,
                         ::testing::Values(Case{0.0, false}, Case{1e-2, false}, Case{0.0, true}),
                         [](const auto& info) {
                           return std::string(info.param.weight_decay > 0 ? "WeightDecay"
                                                                          : "Plain") +
                                  (info.param.amsgrad ? "Amsgrad" : "");
                         });

TEST(AdamUpdateTest, AutoIsFusedOnAGpuAndTheLoopOnTheCpu) {
  EXPECT_EQ(resolve_adam_update(AdamUpdate::kAuto, torch::kCPU), AdamUpdate::kLoop);
  EXPECT_EQ(resolve_adam_update(AdamUpdate::kAuto, torch::Device("cuda:1")), AdamUpdate::kFused);
  EXPECT_EQ(resolve_adam_update(AdamUpdate::kFused, torch::kCPU), AdamUpdate::kFused);
  EXPECT_EQ(resolve_adam_update(AdamUpdate::kLoop, torch::kCUDA), AdamUpdate::kLoop);
  EXPECT_EQ(parse_adam_update("fused"), AdamUpdate::kFused);
  EXPECT_THROW(parse_adam_update("foreach"), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::device
