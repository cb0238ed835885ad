// Classifiers on frozen embeddings, as the study's thesis judged embedding
// spaces: a multinomial logistic regression (softmax, L2-regularised) or a
// small dense network, trained full-batch with Adam; and the scores of a
// prediction (accuracy, macro-F1, per-class precision/recall/F1, confusion).
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

namespace tessera::eval {

struct ProbeOptions {
  std::string kind = "logistic";  // or "dense"
  int epochs = 300;               // full-batch Adam iterations
  double learning_rate = 1e-2;
  double l2 = 1e-4;
  int hidden = 256;  // dense only
  std::uint64_t seed = 42;
  void validate() const;
};

class LinearProbe {
 public:
  LinearProbe(const ProbeOptions& options, int input_dim, int classes);
  void fit(const torch::Tensor& x, const std::vector<int>& y);
  std::vector<int> predict(const torch::Tensor& x);

 private:
  ProbeOptions options_;
  torch::nn::Sequential net_{nullptr};
  torch::Tensor mean_, scale_;  // the train features' standardisation
};

struct ClassScores {
  double accuracy = 0, macro_f1 = 0;
  std::vector<double> precision, recall, f1;
  std::vector<int> support;
  std::vector<std::vector<int>> confusion;  // [true][predicted]
  nlohmann::json to_json(const std::vector<std::string>& labels) const;
};

// Macro-F1 averages the per-class F1 over classes that occur in y_true or in
// y_pred (scikit-learn's convention); a class with no predictions has
// precision 0.
ClassScores score(const std::vector<int>& y_true, const std::vector<int>& y_pred, int classes);

}  // namespace tessera::eval
