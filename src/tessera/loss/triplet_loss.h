// The triplet loss of the study:
//   l_i = max(0, d(a_i, n_i) - d(a_i, o_i) + margin),
// with d the squared Euclidean distance between L2-normalised embeddings
// (so d lies in [0, 4]). Reductions:
//   zero_filtered (the original's default): mean over triplets with l_i > 0
//                 (0 when none is active);
//   mean:         mean over all triplets.
// Alongside the loss it reports what the study reasons with: mean d(a,n),
// mean d(a,o) and the number of active triplets (l_i > 0). All stay on the
// embeddings' device: nothing here waits for it, so a GPU step can be queued
// behind the previous one (train_step.h reads them back in bulk).
#pragma once

#include <string>

#include <torch/torch.h>

namespace tessera::loss {

enum class Reduction { kZeroFiltered, kMean };
Reduction parse_reduction(const std::string& name);

struct TripletLossOptions {
  double margin = 1.0;
  Reduction reduction = Reduction::kZeroFiltered;
  void validate() const;
};

struct TripletLossResult {
  torch::Tensor loss;  // scalar, differentiable
  // Scalars without gradient: mean d(a,n), mean d(a,o), active triplets (int64).
  torch::Tensor dist_neighbour, dist_opposite, active;
  std::int64_t count = 0;  // triplets
};

class TripletLoss {
 public:
  explicit TripletLoss(const TripletLossOptions& options);
  TripletLossResult compute(const torch::Tensor& anchor, const torch::Tensor& neighbour,
                            const torch::Tensor& opposite) const;
  const TripletLossOptions& options() const { return options_; }

 private:
  TripletLossOptions options_;
};

// Keras' l2 regulariser on every conv and linear kernel and bias:
// amount * sum(w^2). Batch-norm parameters are not regularised.
torch::Tensor l2_penalty(torch::nn::Module& module, double amount);

}  // namespace tessera::loss
