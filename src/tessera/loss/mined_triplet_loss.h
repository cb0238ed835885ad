// Triplet losses with the negative mined from the batch (objective.h): for
// each anchor a_i with its neighbour n_i and d_p = d(a_i, n_i),
//   batch_hard: d_n = the smallest d(a_i, x) over views x of other recordings;
//   semi_hard:  d_n = the smallest such d(a_i, x) > d_p, or, where none is,
//               the largest d(a_i, x) (TensorFlow Addons' rule);
//   l_i = max(0, d_p - d_n + margin), reduced as the study's loss is.
// Anchors whose batch holds no view of another recording are left out.
#pragma once

#include <torch/torch.h>

#include "tessera/loss/triplet_loss.h"

namespace tessera::loss {

enum class Mining { kBatchHard, kSemiHard };

struct MinedTripletLossResult {
  torch::Tensor loss;      // scalar, differentiable
  torch::Tensor active;    // int64 scalar: anchors with l_i > 0
  torch::Tensor negative;  // [B] int64: the view mined for each anchor (-1: none)
  std::int64_t count = 0;  // anchors
};

// embeddings [3B, D]; recordings [3B] int64 (objective.h).
MinedTripletLossResult mined_triplet_loss(const torch::Tensor& embeddings,
                                          const torch::Tensor& recordings, Mining mining,
                                          double margin, Reduction reduction);

}  // namespace tessera::loss
