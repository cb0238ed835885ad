// NT-Xent (SimCLR; COLA's in-batch negatives) over a batch of triplets
// embedded as [3B, D]: with s(u, v) = cos(u, v) / temperature, each anchor
// a_i and its neighbour n_i are the other's positive, and every view of
// another recording (anchors, neighbours and opposites) is a negative:
//   l(a_i) = -s(a_i, n_i) + log(exp s(a_i, n_i) + sum_neg exp s(a_i, x)),
// and l(n_i) alike; the loss is the mean over the 2B anchors and
// neighbours. Opposites are negatives only. Views of the row's own
// recording other than its positive are left out of the sum.
#pragma once

#include <torch/torch.h>

namespace tessera::loss {

// embeddings [3B, D]; recordings [3B] int64 (objective.h). A scalar.
torch::Tensor nt_xent_loss(const torch::Tensor& embeddings, const torch::Tensor& recordings,
                           double temperature);

}  // namespace tessera::loss
