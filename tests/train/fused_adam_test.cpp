// The one-pass Adam (train/fused_adam.h) against LibTorch's torch::optim::Adam,
// the reference implementation of the same algorithm.
#include "tessera/train/fused_adam.h"

#include <gtest/gtest.h>

#include <sstream>

namespace tessera::train {
namespace {

// Shapes that cover the kernel's cases: a scalar-sized tensor, one below a
// task's 16k elements, and one of several tasks with a ragged tail.
std::vector<torch::Tensor> make_params() {
  torch::manual_seed(3);
  std::vector<torch::Tensor> ps;
  for (auto shape : std::vector<std::vector<std::int64_t>>{{3}, {64, 3, 7, 7}, {100003}}) {
    ps.push_back(torch::randn(shape).requires_grad_(true));
  }
  return ps;
}

std::vector<torch::Tensor> clones(const std::vector<torch::Tensor>& ps) {
  std::vector<torch::Tensor> out;
  for (const auto& p : ps) out.push_back(p.detach().clone().requires_grad_(true));
  return out;
}

// The same gradients for both optimisers: step k's are drawn from seed k,
// some of them tiny so that eps matters.
void set_grads(std::vector<torch::Tensor>& ps, int k) {
  torch::manual_seed(100 + k);
  for (auto& p : ps) {
    torch::Tensor g = torch::randn(p.sizes());
    g.index_put_({torch::rand(p.sizes()) < 0.1}, 1e-9);
    p.mutable_grad() = g.contiguous(p.is_contiguous() ? at::MemoryFormat::Contiguous
                                                      : at::MemoryFormat::ChannelsLast);
  }
}

// A parameter's state, under the key LibTorch files it: the address of its
// TensorImpl.
const torch::optim::AdamParamState& state_of(torch::optim::Optimizer& o, const torch::Tensor& p) {
  return static_cast<const torch::optim::AdamParamState&>(
      *o.state().at(static_cast<void*>(p.unsafeGetTensorImpl())));
}

double max_diff(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    d = std::max(d, (a[i].detach() - b[i].detach()).abs().max().item<double>());
  }
  return d;
}

// Runs `steps` steps of both, with the learning rate lowered after the
// second (as the trainer's schedule does), and returns the largest
// difference in the parameters.
double run_both(const torch::optim::AdamOptions& o, int steps, bool channels_last = false) {
  std::vector<torch::Tensor> a = make_params();
  if (channels_last)
    a[1] = a[1].detach().contiguous(at::MemoryFormat::ChannelsLast).requires_grad_();
  std::vector<torch::Tensor> b = clones(a);
  torch::optim::Adam reference(a, o);
  FusedAdam fused(b, o);
  for (int k = 0; k < steps; ++k) {
    if (k == 2) {
      for (auto* opt : std::initializer_list<torch::optim::Optimizer*>{&reference, &fused}) {
        static_cast<torch::optim::AdamOptions&>(opt->param_groups()[0].options()).lr(o.lr() / 4);
      }
    }
    set_grads(a, k);
    set_grads(b, k);
    reference.step();
    fused.step();
  }
  return max_diff(a, b);
}

struct Case {
  double weight_decay;
  bool amsgrad;
};

class FusedAdamTest : public ::testing::TestWithParam<Case> {};

// Parameters are ~N(0, 1) and move by up to lr = 1e-2 per step. The two
// compute the same formula in float but round differently (LibTorch's add
// uses FMA, its division by sqrt(bc2) a reciprocal): the largest difference
// measured after six steps is 2.4e-7, two ulp of a unit parameter. Each
// wrong formula tried moved it by 1e-5 or more: no eps 1.8e-4, no bias
// correction 0.6, the decay left out 0.04, beta1 for beta2 9e-4, amsgrad's
// maximum left out 9.9e-6.
TEST_P(FusedAdamTest, MatchesLibTorchAdamToRounding) {
  torch::optim::AdamOptions o(1e-2);
  o.weight_decay(GetParam().weight_decay).amsgrad(GetParam().amsgrad);
  EXPECT_LT(run_both(o, 6), 1e-6);
}

// The moments are kept in Adam's own state, under Adam's keys.
TEST_P(FusedAdamTest, KeepsAdamsStateForEachParameter) {
  torch::optim::AdamOptions o(1e-2);
  o.weight_decay(GetParam().weight_decay).amsgrad(GetParam().amsgrad);
  std::vector<torch::Tensor> a = make_params(), b = clones(a);
  torch::optim::Adam reference(a, o);
  FusedAdam fused(b, o);
  for (int k = 0; k < 3; ++k) {
    set_grads(a, k);
    set_grads(b, k);
    reference.step();
    fused.step();
  }
  ASSERT_EQ(fused.state().size(), a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto& ra = state_of(reference, a[i]);
    const auto& rb = state_of(fused, b[i]);
    EXPECT_EQ(rb.step(), 3);
    EXPECT_LT((ra.exp_avg() - rb.exp_avg()).abs().max().item<double>(), 1e-6);
    EXPECT_LT((ra.exp_avg_sq() - rb.exp_avg_sq()).abs().max().item<double>(), 1e-6);
    EXPECT_EQ(rb.max_exp_avg_sq().defined(), GetParam().amsgrad);
  }
}

INSTANTIATE_TEST_SUITE_P(Options, FusedAdamTest,
                         ::testing::Values(Case{0, false}, Case{0.01, false}, Case{0, true},
                                           Case{0.01, true}));

// A channels-last weight whose gradient is channels-last too takes the
// one-pass kernel; one whose gradient is NCHW takes the tensor operations.
// Both match Adam, and the weight keeps its layout.
TEST(FusedAdam, ChannelsLastParametersMatchAdam) {
  EXPECT_LT(run_both(torch::optim::AdamOptions(1e-2), 4, /*channels_last=*/true), 1e-6);
}

TEST(FusedAdam, GradientInAnotherLayoutTakesTensorOperations) {
  std::vector<torch::Tensor> a = {
      torch::randn({8, 4, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast).requires_grad_()};
  std::vector<torch::Tensor> b = clones(a);  // clone() keeps channels-last
  torch::optim::Adam reference(a, torch::optim::AdamOptions(1e-2));
  FusedAdam fused(b, torch::optim::AdamOptions(1e-2));
  for (int k = 0; k < 3; ++k) {
    torch::manual_seed(k);
    const torch::Tensor g = torch::randn({8, 4, 3, 3});  // NCHW
    a[0].mutable_grad() = g.clone();
    b[0].mutable_grad() = g.clone();
    reference.step();
    fused.step();
  }
  EXPECT_TRUE(b[0].is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_LT(max_diff(a, b), 1e-6);
}

// Same bits on one thread and two: the update is elementwise.
TEST(FusedAdam, SameBitsOnAnyThreadCount) {
  const int threads = torch::get_num_threads();
  std::vector<std::vector<torch::Tensor>> results;
  for (int t : {1, 2}) {
    torch::set_num_threads(t);
    std::vector<torch::Tensor> ps = make_params();
    FusedAdam fused(ps, torch::optim::AdamOptions(1e-2));
    for (int k = 0; k < 3; ++k) {
      set_grads(ps, k);
      fused.step();
    }
    results.push_back(ps);
  }
  torch::set_num_threads(threads);
  for (std::size_t i = 0; i < results[0].size(); ++i) {
    EXPECT_TRUE(torch::equal(results[0][i], results[1][i])) << "parameter " << i;
  }
}

// A parameter without a gradient is left alone, and gets no state.
TEST(FusedAdam, SkipsParametersWithoutGradient) {
  std::vector<torch::Tensor> ps = make_params();
  const std::vector<torch::Tensor> before = clones(ps);
  FusedAdam fused(ps, torch::optim::AdamOptions(1e-2));
  set_grads(ps, 0);
  ps[0].mutable_grad().reset();
  fused.step();
  EXPECT_TRUE(torch::equal(ps[0], before[0]));
  EXPECT_FALSE(torch::equal(ps[1], before[1]));
  EXPECT_EQ(fused.state().size(), ps.size() - 1);
}

// amsgrad switched on for state made without it (a run resumed with the
// option changed) starts its running maximum from the current moment,
// where LibTorch's Adam fails on the missing tensor.
TEST(FusedAdam, AmsgradSwitchedOnLaterStartsItsMaximum) {
  std::vector<torch::Tensor> ps = make_params();
  FusedAdam fused(ps, torch::optim::AdamOptions(1e-2));
  set_grads(ps, 0);
  fused.step();
  static_cast<torch::optim::AdamOptions&>(fused.param_groups()[0].options()).amsgrad(true);
  set_grads(ps, 1);
  fused.step();
  for (const auto& p : ps) {
    const auto& st = state_of(fused, p);
    ASSERT_TRUE(st.max_exp_avg_sq().defined());
    EXPECT_TRUE(torch::equal(st.max_exp_avg_sq(), st.exp_avg_sq()));
  }
}

// Written through raw pointers, the parameter still reports an in-place
// change to autograd, so a graph that saved it refuses to run backward.
TEST(FusedAdam, UpdateBumpsTheParameterVersion) {
  std::vector<torch::Tensor> ps = make_params();
  FusedAdam fused(ps, torch::optim::AdamOptions(1e-2));
  const auto v0 = ps[2]._version();
  set_grads(ps, 0);
  fused.step();
  EXPECT_GT(ps[2]._version(), v0);
}

// The state saved from one resumes in the other: the checkpoints of runs
// trained before and after the change stay interchangeable.
TEST(FusedAdam, StateSavedResumesInLibTorchAdam) {
  std::vector<torch::Tensor> a = make_params(), b = clones(a);
  FusedAdam fused(a, torch::optim::AdamOptions(1e-2));
  torch::optim::Adam reference(b, torch::optim::AdamOptions(1e-2));
  for (int k = 0; k < 2; ++k) {
    set_grads(a, k);
    fused.step();
  }
  std::stringstream buffer;
  {
    torch::serialize::OutputArchive out;
    fused.save(out);
    out.save_to(buffer);
  }
  for (std::size_t i = 0; i < a.size(); ++i) b[i].detach().copy_(a[i].detach());
  {
    torch::serialize::InputArchive in;
    in.load_from(buffer);
    reference.load(in);
  }
  set_grads(a, 2);
  set_grads(b, 2);
  fused.step();
  reference.step();
  // Had the moments not carried over, the third step (bias-corrected from
  // fresh moments) would differ by ~lr.
  EXPECT_LT(max_diff(a, b), 1e-6);
}

}  // namespace
}  // namespace tessera::train
