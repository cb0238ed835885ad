#include "tessera/eval/linear_probe.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <stdexcept>

namespace tessera::eval {

void ProbeOptions::validate() const {
  if (kind != "logistic" && kind != "dense")
    throw std::invalid_argument("classify: --classifier must be logistic or dense");
  if (epochs < 1) throw std::invalid_argument("classify: --epochs must be >= 1");
  if (!(learning_rate > 0)) throw std::invalid_argument("classify: learning rate must be > 0");
}

LinearProbe::LinearProbe(const ProbeOptions& options, int input_dim, int classes)
    : options_(options) {
  options_.validate();
  torch::manual_seed(options_.seed);
  net_ = torch::nn::Sequential();
  if (options_.kind == "dense") {
    net_->push_back(torch::nn::Linear(input_dim, options_.hidden));
    net_->push_back(torch::nn::ReLU());
    net_->push_back(torch::nn::Dropout(0.3));
    net_->push_back(torch::nn::Linear(options_.hidden, classes));
  } else {
    net_->push_back(torch::nn::Linear(input_dim, classes));
  }
}

void LinearProbe::fit(const torch::Tensor& x_in, const std::vector<int>& y_in) {
  const torch::Tensor raw = x_in.to(torch::kCPU, torch::kFloat32);
  // Standardise each feature on the train set, as a scaler before a linear
  // model does: embeddings concentrated in a small cap of the sphere
  // (random weights do that) would otherwise need tiny steps to separate.
  mean_ = raw.mean(0, /*keepdim=*/true);
  scale_ = 1.0 / raw.std(0, /*unbiased=*/false, /*keepdim=*/true).clamp_min(1e-8);
  const torch::Tensor x = (raw - mean_) * scale_;
  const torch::Tensor y = torch::tensor(std::vector<std::int64_t>(y_in.begin(), y_in.end()));
  torch::optim::Adam adam(net_->parameters(), torch::optim::AdamOptions(options_.learning_rate));
  net_->train();
  for (int e = 0; e < options_.epochs; ++e) {
    adam.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(net_->forward(x), y);
    for (const auto& p : net_->named_parameters()) {
      if (p.key().find("weight") != std::string::npos)
        loss = loss + options_.l2 * p.value().pow(2).sum();
    }
    loss.backward();
    adam.step();
  }
}

std::vector<int> LinearProbe::predict(const torch::Tensor& x) {
  torch::NoGradGuard g;
  net_->eval();
  if (!mean_.defined()) throw std::logic_error("classify: predict before fit");
  const torch::Tensor p =
      net_->forward((x.to(torch::kCPU, torch::kFloat32) - mean_) * scale_).argmax(1);
  std::vector<int> out(p.size(0));
  const auto a = p.accessor<std::int64_t, 1>();
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = int(a[i]);
  return out;
}

std::vector<std::int64_t> labelled_subset(const std::vector<int>& labels, int per_class,
                                          std::uint64_t seed) {
  if (per_class < 0) throw std::invalid_argument("classify: labels per class must be >= 0");
  std::map<int, std::vector<std::int64_t>> by_class;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= 0) by_class[labels[i]].push_back(std::int64_t(i));
  std::vector<std::int64_t> out;
  std::mt19937_64 rng(seed);
  for (auto& [label, rows] : by_class) {
    if (per_class > 0 && int(rows.size()) > per_class) {
      std::shuffle(rows.begin(), rows.end(), rng);
      rows.resize(per_class);
    }
    out.insert(out.end(), rows.begin(), rows.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

ClassScores score(const std::vector<int>& t, const std::vector<int>& p, int classes) {
  if (t.size() != p.size())
    throw std::invalid_argument("score: prediction and truth differ in length");
  ClassScores s;
  s.confusion.assign(classes, std::vector<int>(classes, 0));
  int correct = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] < 0 || t[i] >= classes || p[i] < 0 || p[i] >= classes) continue;
    ++s.confusion[t[i]][p[i]];
    correct += t[i] == p[i];
  }
  s.accuracy = t.empty() ? 0 : double(correct) / t.size();
  double f1_sum = 0;
  int counted = 0;
  for (int c = 0; c < classes; ++c) {
    int tp = s.confusion[c][c], pred = 0, real = 0;
    for (int o = 0; o < classes; ++o) pred += s.confusion[o][c], real += s.confusion[c][o];
    const double prec = pred ? double(tp) / pred : 0.0, rec = real ? double(tp) / real : 0.0;
    const double f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0.0;
    s.precision.push_back(prec);
    s.recall.push_back(rec);
    s.f1.push_back(f1);
    s.support.push_back(real);
    if (pred || real) f1_sum += f1, ++counted;
  }
  s.macro_f1 = counted ? f1_sum / counted : 0.0;
  return s;
}

FewLabelProbes::FewLabelProbes(const ProbeOptions& options, const torch::Tensor& x,
                               const std::vector<int>& y, int classes, int per_class, int draws)
    : classes_(classes) {
  if (draws < 1) throw std::invalid_argument("classify: draws must be >= 1");
  if (per_class == 0) draws = 1;  // every row: all draws would be the same
  for (int d = 0; d < draws; ++d) {
    const auto rows = labelled_subset(y, per_class, options.seed + std::uint64_t(d));
    if (rows.empty()) throw std::runtime_error("classify: the train split has no labelled row");
    std::vector<int> sub;
    for (const auto r : rows) sub.push_back(y[std::size_t(r)]);
    probes_.emplace_back(options, int(x.size(1)), classes);
    probes_.back().fit(x.index_select(0, torch::tensor(rows)), sub);
    labelled_rows_ = rows.size();
  }
}

ClassScores FewLabelProbes::score(const torch::Tensor& x, const std::vector<int>& y) {
  std::vector<int> all_true, all_pred;
  std::vector<double> f1, acc;
  for (auto& p : probes_) {
    const std::vector<int> pred = p.predict(x);
    const ClassScores one = eval::score(y, pred, classes_);
    f1.push_back(one.macro_f1);
    acc.push_back(one.accuracy);
    all_true.insert(all_true.end(), y.begin(), y.end());
    all_pred.insert(all_pred.end(), pred.begin(), pred.end());
  }
  ClassScores s = eval::score(all_true, all_pred, classes_);
  if (probes_.size() == 1) return s;
  double mean = 0, var = 0, mean_acc = 0;
  for (std::size_t d = 0; d < f1.size(); ++d)
    mean += f1[d] / f1.size(), mean_acc += acc[d] / f1.size();
  for (double v : f1) var += (v - mean) * (v - mean) / f1.size();
  s.macro_f1 = mean;
  s.accuracy = mean_acc;
  s.macro_f1_draws = f1;
  s.macro_f1_std = std::sqrt(var);
  return s;
}

nlohmann::json ClassScores::to_json(const std::vector<std::string>& labels) const {
  nlohmann::json per = nlohmann::json::object();
  for (std::size_t c = 0; c < labels.size() && c < f1.size(); ++c) {
    per[labels[c]] = {
        {"precision", precision[c]}, {"recall", recall[c]}, {"f1", f1[c]}, {"support", support[c]}};
  }
  nlohmann::json j = {
      {"accuracy", accuracy}, {"macro_f1", macro_f1}, {"per_class", per}, {"confusion", confusion}};
  if (!macro_f1_draws.empty()) {
    j["macro_f1_std"] = macro_f1_std;
    j["macro_f1_draws"] = macro_f1_draws;
  }
  return j;
}

}  // namespace tessera::eval
