#include "tessera/loss/objective.h"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "tessera/common/near_match.h"
#include "tessera/loss/mined_triplet_loss.h"
#include "tessera/loss/nt_xent_loss.h"

namespace tessera::loss {
namespace {

const std::vector<std::string>& objective_names() {
  static const std::vector<std::string> kNames = {"triplet", "batch_hard", "semi_hard", "nt_xent"};
  return kNames;
}

}  // namespace

ObjectiveKind parse_objective(const std::string& name) {
  const auto& names = objective_names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (name == names[i]) return ObjectiveKind(i);
  }
  throw std::invalid_argument("loss '" + name +
                              "' must be triplet, batch_hard, semi_hard or nt_xent" +
                              common::did_you_mean(name, names));
}

std::string objective_name(ObjectiveKind kind) {
  return objective_names().at(std::size_t(kind));
}

void ObjectiveOptions::validate() const {
  if (!(margin > 0) || !std::isfinite(margin))
    throw std::invalid_argument("loss: margin (" + std::to_string(margin) + ") must be > 0");
  if (!(temperature > 0) || !std::isfinite(temperature))
    throw std::invalid_argument("loss: temperature (" + std::to_string(temperature) +
                                ") must be > 0");
}

Objective::Objective(const ObjectiveOptions& options) : options_(options) {
  options_.validate();
}

Objective::Objective(const TripletLoss& triplet)
    : Objective(ObjectiveOptions{ObjectiveKind::kTriplet, triplet.options().margin,
                                 triplet.options().reduction}) {}

torch::Tensor triplet_recordings(std::int64_t b, const torch::Device& device) {
  const auto opts = torch::TensorOptions().dtype(torch::kInt64).device(device);
  const torch::Tensor own = torch::arange(b, opts);
  return torch::cat({own, own, torch::arange(b, 2 * b, opts)});
}

torch::Tensor other_recording(const torch::Tensor& recordings) {
  return recordings.unsqueeze(1) != recordings.unsqueeze(0);
}

torch::Tensor squared_distances(const torch::Tensor& x, const torch::Tensor& y) {
  const torch::Tensor xx = x.pow(2).sum(1, /*keepdim=*/true);
  const torch::Tensor yy = y.pow(2).sum(1, /*keepdim=*/true).t();
  return (xx + yy - 2 * torch::matmul(x, y.t())).clamp_min(0);
}

TripletLossResult Objective::compute(const torch::Tensor& embeddings,
                                     const torch::Tensor& recordings_in) const {
  if (embeddings.dim() != 2 || embeddings.size(0) % 3 != 0) {
    throw std::invalid_argument("loss: embeddings must be [3B, D]");
  }
  const std::int64_t b = embeddings.size(0) / 3;
  const auto parts = embeddings.split(b, 0);
  if (options_.kind == ObjectiveKind::kTriplet) {
    return TripletLoss({options_.margin, options_.reduction}).compute(parts[0], parts[1], parts[2]);
  }
  const torch::Tensor recordings = recordings_in.defined()
                                       ? recordings_in.to(embeddings.device(), torch::kInt64)
                                       : triplet_recordings(b, embeddings.device());
  if (recordings.dim() != 1 || recordings.size(0) != embeddings.size(0)) {
    throw std::invalid_argument("loss: one recording id per view is needed");
  }
  TripletLossResult r;
  const torch::Tensor a = parts[0].detach();
  r.dist_neighbour = (a - parts[1].detach()).pow(2).sum(1).mean();
  r.dist_opposite = (a - parts[2].detach()).pow(2).sum(1).mean();
  if (options_.kind == ObjectiveKind::kNtXent) {
    r.loss = nt_xent_loss(embeddings, recordings, options_.temperature);
    r.count = 2 * b;
    r.active = torch::full({}, r.count, recordings.options());
  } else {
    const MinedTripletLossResult m = mined_triplet_loss(
        embeddings, recordings,
        options_.kind == ObjectiveKind::kBatchHard ? Mining::kBatchHard : Mining::kSemiHard,
        options_.margin, options_.reduction);
    r.loss = m.loss;
    r.active = m.active;
    r.count = m.count;
  }
  return r;
}

}  // namespace tessera::loss
