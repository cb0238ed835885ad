#include "tessera/loss/mined_triplet_loss.h"

#include <limits>

#include "tessera/loss/objective.h"

namespace tessera::loss {

MinedTripletLossResult mined_triplet_loss(const torch::Tensor& embeddings,
                                          const torch::Tensor& recordings, Mining mining,
                                          double margin, Reduction reduction) {
  const std::int64_t b = embeddings.size(0) / 3;
  const torch::Tensor anchors = embeddings.narrow(0, 0, b);
  const torch::Tensor neighbours = embeddings.narrow(0, b, b);
  const torch::Tensor d_pos = (anchors - neighbours).pow(2).sum(1);            // [B]
  const torch::Tensor d = squared_distances(anchors, embeddings);              // [B, 3B]
  const torch::Tensor negative = other_recording(recordings).narrow(0, 0, b);  // [B, 3B]
  const torch::Tensor has_negative = negative.any(1);                          // [B]
  const double inf = std::numeric_limits<double>::infinity();
  // The choice is made on detached distances; the loss then reads the
  // chosen distance with its gradient.
  const torch::Tensor dd = d.detach();
  torch::Tensor chosen;
  const torch::Tensor closest = dd.masked_fill(negative.logical_not(), inf).argmin(1);
  if (mining == Mining::kBatchHard) {
    chosen = closest;
  } else {
    const torch::Tensor farther = negative & (dd > d_pos.detach().unsqueeze(1));
    const torch::Tensor semi = dd.masked_fill(farther.logical_not(), inf).argmin(1);
    const torch::Tensor farthest = dd.masked_fill(negative.logical_not(), -inf).argmax(1);
    chosen = torch::where(farther.any(1), semi, farthest);
  }
  const torch::Tensor d_neg = d.gather(1, chosen.unsqueeze(1)).squeeze(1);
  const torch::Tensor valid = has_negative.to(d.scalar_type());
  const torch::Tensor per = torch::relu(d_pos - d_neg + margin) * valid;
  MinedTripletLossResult r;
  r.count = b;
  r.active = (per > 0).sum();
  if (reduction == Reduction::kMean) {
    r.loss = per.sum() / valid.sum().clamp_min(1);
  } else {
    r.loss = per.sum() / r.active.clamp_min(1);
  }
  r.negative = torch::where(has_negative, chosen, torch::full_like(chosen, -1));
  return r;
}

}  // namespace tessera::loss
