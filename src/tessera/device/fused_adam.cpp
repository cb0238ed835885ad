#include "tessera/device/fused_adam.h"

#include <stdexcept>

namespace tessera::device {

AdamUpdate parse_adam_update(const std::string& name) {
  if (name == "auto") return AdamUpdate::kAuto;
  if (name == "loop") return AdamUpdate::kLoop;
  if (name == "fused") return AdamUpdate::kFused;
  throw std::invalid_argument("adam update '" + name + "' must be auto, loop or fused");
}

const char* adam_update_name(AdamUpdate update) {
  switch (update) {
    case AdamUpdate::kAuto:
      return "auto";
    case AdamUpdate::kLoop:
      return "loop";
    case AdamUpdate::kFused:
      return "fused";
  }
  return "?";
}

AdamUpdate resolve_adam_update(AdamUpdate update, const torch::Device& device) {
  if (update != AdamUpdate::kAuto) return update;
  return device.is_cpu() ? AdamUpdate::kLoop : AdamUpdate::kFused;
}

FusedAdam::FusedAdam(torch::optim::Adam& adam) : adam_(adam) {}

torch::optim::AdamParamState& FusedAdam::state_of(const torch::Tensor& p,
                                                  const torch::optim::AdamOptions& o) {
  auto& states = adam_.state();
  auto it = states.find(p.unsafeGetTensorImpl());
  if (it == states.end()) {
    auto made = std::make_unique<torch::optim::AdamParamState>();
    made->step(0);
    made->exp_avg(torch::zeros_like(p, at::MemoryFormat::Preserve));
    made->exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
    if (o.amsgrad()) made->max_exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
    it = states.emplace(p.unsafeGetTensorImpl(), std::move(made)).first;
  }
  return static_cast<torch::optim::AdamParamState&>(*it->second);
}

const torch::Tensor& FusedAdam::step_count(const torch::Tensor& p,
                                           const torch::optim::AdamParamState& state) {
  const void* key = p.unsafeGetTensorImpl();
  auto it = counts_.find(key);
  if (it == counts_.end()) {
    torch::Tensor count = torch::full({}, double(state.step()),
                                      torch::TensorOptions(torch::kFloat32).device(p.device()));
    it = counts_.emplace(key, std::make_pair(state.step(), std::move(count))).first;
  } else if (it->second.first != state.step()) {
    it->second.second.fill_(double(state.step()));
  }
  it->second.first = state.step() + 1;
  return it->second.second;
}

const torch::Tensor& FusedAdam::learning_rate(std::size_t group, double lr,
                                              const torch::Device& device) {
  if (lrs_.size() <= group) lrs_.resize(group + 1);
  auto& [value, tensor] = lrs_[group];
  if (!tensor.defined() || tensor.device() != device) {
    tensor = torch::full({}, lr, torch::TensorOptions(torch::kFloat32).device(device));
  } else if (value != lr) {
    tensor.fill_(lr);
  }
  value = lr;
  return tensor;
}

void FusedAdam::step() {
  auto& groups = adam_.param_groups();
  last_.clear();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(groups[g].options());
    Launch l;
    l.group = g;
    for (const auto& p : groups[g].params()) {
      if (!p.grad().defined()) continue;
      torch::optim::AdamParamState& state = state_of(p, o);
      l.keys.push_back(p.unsafeGetTensorImpl());
      l.params.push_back(p);
      l.grads.push_back(p.grad());
      l.avgs.push_back(state.exp_avg());
      l.squares.push_back(state.exp_avg_sq());
      if (o.amsgrad()) l.maxima.push_back(state.max_exp_avg_sq());
      l.counts.push_back(step_count(p, state));
      state.step(state.step() + 1);
    }
    if (!l.params.empty()) last_.push_back(std::move(l));
  }
  refresh(last_);
  for (const Launch& l : last_) launch(l);
}

void FusedAdam::launch(const Launch& l) {
  torch::NoGradGuard no_grad;
  const auto& o =
      static_cast<const torch::optim::AdamOptions&>(adam_.param_groups().at(l.group).options());
  // The kernel reads the counts after this step, as Adam's bias
  // corrections do; it does not advance them itself.
  at::_foreach_add_(l.counts, 1);
  const auto [beta1, beta2] = o.betas();
  at::_fused_adam_(l.params, l.grads, l.avgs, l.squares, l.maxima, l.counts,
                   lrs_.at(l.group).second, beta1, beta2, o.weight_decay(), o.eps(), o.amsgrad(),
                   /*maximize=*/false);
}

void FusedAdam::refresh(const std::vector<Launch>& launches) {
  auto& groups = adam_.param_groups();
  for (const Launch& l : launches) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(groups.at(l.group).options());
    learning_rate(l.group, o.lr(), l.params.front().device());
  }
}

void FusedAdam::refresh_learning_rates() {
  refresh(last_);
}

void FusedAdam::keep_last_step_for_replay() {
  kept_ = last_;
}

void FusedAdam::prepare_replay() {
  if (kept_.empty()) throw std::logic_error("fused adam: no step was kept for replay");
  refresh(kept_);
  auto& states = adam_.state();
  for (const Launch& l : kept_) {
    for (std::size_t i = 0; i < l.keys.size(); ++i) {
      auto state = states.find(const_cast<void*>(l.keys[i]));
      auto count = counts_.find(l.keys[i]);
      auto* adam_state = state == states.end()
                             ? nullptr
                             : static_cast<torch::optim::AdamParamState*>(state->second.get());
      if (!adam_state || count == counts_.end() || count->second.first != adam_state->step() ||
          !adam_state->exp_avg().is_same(l.avgs[i])) {
        throw std::logic_error(
            "fused adam: the optimiser's state changed after the step a graph captured");
      }
      adam_state->step(adam_state->step() + 1);
      ++count->second.first;
    }
  }
}

void FusedAdam::relaunch() {
  if (kept_.empty()) throw std::logic_error("fused adam: no step was kept for replay");
  for (const Launch& l : kept_) launch(l);
}

}  // namespace tessera::device
