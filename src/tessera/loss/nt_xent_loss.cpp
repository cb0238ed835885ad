#include "tessera/loss/nt_xent_loss.h"

#include <limits>

#include "tessera/loss/objective.h"

namespace tessera::loss {

torch::Tensor nt_xent_loss(const torch::Tensor& embeddings, const torch::Tensor& recordings,
                           double temperature) {
  const std::int64_t b = embeddings.size(0) / 3;
  const torch::Tensor z = torch::nn::functional::normalize(
      embeddings, torch::nn::functional::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
  // Rows: the 2B anchors and neighbours; columns: all 3B views.
  const torch::Tensor rows = z.narrow(0, 0, 2 * b);
  const torch::Tensor logits = torch::matmul(rows, z.t()) / temperature;  // [2B, 3B]
  const auto idx = torch::TensorOptions().dtype(torch::kInt64).device(z.device());
  const torch::Tensor row = torch::arange(2 * b, idx);
  const torch::Tensor positive = torch::cat({torch::arange(b, 2 * b, idx), torch::arange(b, idx)});
  // Kept in the sum: the positive and every view of another recording.
  torch::Tensor keep = other_recording(recordings).narrow(0, 0, 2 * b).clone();
  keep.index_put_({row, positive}, true);
  const torch::Tensor masked =
      logits.masked_fill(keep.logical_not(), -std::numeric_limits<float>::infinity());
  const torch::Tensor pos = logits.gather(1, positive.unsqueeze(1)).squeeze(1);
  return (torch::logsumexp(masked, 1) - pos).mean();
}

}  // namespace tessera::loss
