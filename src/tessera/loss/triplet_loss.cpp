#include "tessera/loss/triplet_loss.h"

#include <stdexcept>

namespace tessera::loss {

Reduction parse_reduction(const std::string& name) {
  if (name == "zero_filtered") return Reduction::kZeroFiltered;
  if (name == "mean") return Reduction::kMean;
  throw std::invalid_argument("loss: reduction '" + name + "' must be zero_filtered or mean");
}

void TripletLossOptions::validate() const {
  if (!(margin > 0))
    throw std::invalid_argument("loss: margin (" + std::to_string(margin) + ") must be > 0");
}

TripletLoss::TripletLoss(const TripletLossOptions& options) : options_(options) {
  options_.validate();
}

TripletLossResult TripletLoss::compute(const torch::Tensor& a, const torch::Tensor& n,
                                       const torch::Tensor& o) const {
  const torch::Tensor d_an = (a - n).pow(2).sum(1);
  const torch::Tensor d_ao = (a - o).pow(2).sum(1);
  const torch::Tensor per = torch::relu(d_an - d_ao + options_.margin);
  TripletLossResult r;
  r.count = per.size(0);
  r.active = (per > 0).sum();
  if (options_.reduction == Reduction::kMean) {
    r.loss = per.mean();
  } else {
    // Mean over active triplets; the clamp keeps the graph when none is.
    r.loss = per.sum() / r.active.clamp_min(1);
  }
  r.dist_neighbour = d_an.detach().mean();
  r.dist_opposite = d_ao.detach().mean();
  return r;
}

torch::Tensor l2_penalty(torch::nn::Module& module, double amount) {
  const auto params = module.parameters();
  torch::Tensor sum =
      torch::zeros({}, params.empty() ? torch::TensorOptions() : params[0].options());
  if (amount == 0) return sum;
  for (auto& m : module.modules()) {
    if (m->as<torch::nn::Conv2d>() || m->as<torch::nn::Linear>()) {
      for (const auto& p : m->parameters(/*recurse=*/false)) sum = sum + p.pow(2).sum();
    }
  }
  return sum * amount;
}

}  // namespace tessera::loss
