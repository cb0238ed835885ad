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

// The rows a probe trains on when only `per_class` labels of each class
// are known: that many of each class's rows, drawn without replacement by a
// seeded shuffle (all of a class's rows when it has fewer), in ascending
// order. per_class 0 keeps every row. Unlabelled rows (label < 0) are left
// out. Self-supervised embeddings are judged this way too: the fewer labels
// a linear probe needs, the more the embedding learned without them.
std::vector<std::int64_t> labelled_subset(const std::vector<int>& labels, int per_class,
                                          std::uint64_t seed);

struct ClassScores {
  double accuracy = 0, macro_f1 = 0;
  // Several label draws (few_label_scores): the macro-F1 of each, and their
  // population standard deviation; empty and 0 for a single prediction.
  std::vector<double> macro_f1_draws;
  double macro_f1_std = 0;
  std::vector<double> precision, recall, f1;
  std::vector<int> support;
  std::vector<std::vector<int>> confusion;  // [true][predicted]
  nlohmann::json to_json(const std::vector<std::string>& labels) const;
};

// Macro-F1 averages the per-class F1 over classes that occur in y_true or in
// y_pred (scikit-learn's convention); a class with no predictions has
// precision 0.
ClassScores score(const std::vector<int>& y_true, const std::vector<int>& y_pred, int classes);

// Probes trained on `draws` different few-label subsets of the train rows
// (labelled_subset with seeds seed, seed+1, ...); one probe on every row
// when per_class is 0.
class FewLabelProbes {
 public:
  FewLabelProbes(const ProbeOptions& options, const torch::Tensor& train_x,
                 const std::vector<int>& train_y, int classes, int per_class, int draws);
  // Scores every probe on (x, y): accuracy and macro-F1 are the means over
  // the draws, macro_f1_draws and macro_f1_std their spread, and the
  // per-class numbers and confusion matrix those of all draws' predictions
  // pooled.
  ClassScores score(const torch::Tensor& x, const std::vector<int>& y);
  std::size_t labelled_rows() const { return labelled_rows_; }
  int draws() const { return int(probes_.size()); }

 private:
  std::vector<LinearProbe> probes_;
  int classes_;
  std::size_t labelled_rows_ = 0;
};

}  // namespace tessera::eval
