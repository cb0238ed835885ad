#include "tessera/train/fused_adam.h"

#include <cmath>
#include <string>

#include "tessera/ops/parallel.h"
#include "tessera/train/adam_update.h"

namespace tessera::train {

namespace {

// The key torch::optim::Optimizer files a parameter's state under (since
// LibTorch 2.2): the address of its TensorImpl.
void* state_key(const torch::Tensor& p) {
  return p.unsafeGetTensorImpl();
}

// Whether one pass over raw memory can update p: dense fp32 on the CPU,
// with the gradient and the moments in the same layout.
bool fusable(const torch::Tensor& p, const torch::Tensor& g,
             const torch::optim::AdamParamState& st) {
  auto same = [&](const torch::Tensor& t) {
    return !t.defined() || (t.device() == p.device() && t.scalar_type() == p.scalar_type() &&
                            t.strides() == p.strides() && t.sizes() == p.sizes());
  };
  return p.device().is_cpu() && p.scalar_type() == torch::kFloat32 &&
         p.is_non_overlapping_and_dense() && same(g) && same(st.exp_avg()) &&
         same(st.exp_avg_sq()) && same(st.max_exp_avg_sq());
}

}  // namespace

FusedAdam::FusedAdam(std::vector<torch::Tensor> params, torch::optim::AdamOptions options)
    : torch::optim::Adam(std::move(params), options) {}

torch::Tensor FusedAdam::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  auto& states = state();
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      TORCH_CHECK(!p.grad().is_sparse(), "FusedAdam does not take sparse gradients");
      const auto key = state_key(p);
      auto found = states.find(key);
      if (found == states.end()) {
        auto st = std::make_unique<torch::optim::AdamParamState>();
        st->step(0);
        st->exp_avg(torch::zeros_like(p, at::MemoryFormat::Preserve));
        st->exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
        found = states.emplace(key, std::move(st)).first;
      }
      auto& st = static_cast<torch::optim::AdamParamState&>(*found->second);
      // amsgrad's running maximum, for new state and for state made without
      // it (a run resumed with amsgrad turned on).
      if (o.amsgrad() && !st.max_exp_avg_sq().defined()) {
        st.max_exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
      }
      st.step(st.step() + 1);
      const double bias_correction1 = 1 - std::pow(beta1, double(st.step()));
      const double bias_correction2 = 1 - std::pow(beta2, double(st.step()));
      const double step_size = o.lr() / bias_correction1;
      const torch::Tensor& g = p.grad();
      if (fusable(p, g, st)) {
        const AdamConstants c{float(beta1),
                              float(1 - beta1),
                              float(beta2),
                              float(1 - beta2),
                              float(std::sqrt(bias_correction2)),
                              float(o.eps()),
                              float(step_size),
                              float(o.weight_decay())};
        float* pp = p.data_ptr<float>();
        const float* gp = g.data_ptr<float>();
        float* mp = st.exp_avg().data_ptr<float>();
        float* vp = st.exp_avg_sq().data_ptr<float>();
        float* xp = o.amsgrad() ? st.max_exp_avg_sq().data_ptr<float>() : nullptr;
        // 16k elements: 64 KiB of each of the four arrays per task.
        at::parallel_for(0, p.numel(), 1 << 14, [&](std::int64_t b, std::int64_t e) {
          adam_update(pp + b, gp + b, mp + b, vp + b, xp ? xp + b : nullptr, e - b, c);
        });
        // Written through raw pointers: tell autograd the tensors changed,
        // as the in-place operations would have.
        p.unsafeGetTensorImpl()->bump_version();
        st.exp_avg().unsafeGetTensorImpl()->bump_version();
        st.exp_avg_sq().unsafeGetTensorImpl()->bump_version();
        if (xp) st.max_exp_avg_sq().unsafeGetTensorImpl()->bump_version();
        continue;
      }
      // Any other device or layout: the same formula in tensor operations.
      torch::Tensor grad = o.weight_decay() != 0 ? g.add(p, o.weight_decay()) : g;
      st.exp_avg().mul_(beta1).add_(grad, 1 - beta1);
      st.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      torch::Tensor second = st.exp_avg_sq();
      if (o.amsgrad()) {
        torch::max_out(st.max_exp_avg_sq(), st.max_exp_avg_sq(), second);
        second = st.max_exp_avg_sq();
      }
      const torch::Tensor denom = (second.sqrt() / std::sqrt(bias_correction2)).add_(o.eps());
      p.addcdiv_(st.exp_avg(), denom, -step_size);
    }
  }
  return loss;
}

}  // namespace tessera::train
