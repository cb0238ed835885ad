#include "tessera/data/dcase_reader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace tessera::data {
namespace {

std::vector<std::string> split_fields(const std::string& line) {
  // Tabs separate fields; some copies of the lists use runs of spaces.
  std::vector<std::string> out;
  std::string cur;
  for (char ch : line) {
    if (ch == '\t' || ch == ' ') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (ch != '\r') {
      cur += ch;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

const std::vector<std::string>& dcase_labels() {
  static const std::vector<std::string> kLabels = {
      "absence",         "cooking",        "dishwashing", "eating", "other",
      "social_activity", "vacuum_cleaner", "watching_tv", "working"};
  return kLabels;
}

void DcaseOptions::validate() const {
  if (root.empty()) throw std::invalid_argument("dcase: dcase_dataset_path is empty");
  if (fold < 1) throw std::invalid_argument("dcase: dcase_dataset_fold must be >= 1");
}

std::vector<Recording> read_fold_list(const std::string& list_path, const std::string& root,
                                      const std::vector<std::string>& labels, bool labelled,
                                      SkipReport& skipped) {
  std::ifstream in(list_path);
  if (!in) throw std::runtime_error("dcase: cannot open fold list '" + list_path + "'");
  std::vector<Recording> out;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const auto f = split_fields(line);
    if (f.empty()) continue;
    const std::string where = "'" + list_path + "' line " + std::to_string(line_no);
    if (labelled && f.size() < 2) {
      throw std::runtime_error("dcase: " + where + ": expected 'file<TAB>label', got '" + line +
                               "'");
    }
    Recording r;
    r.name = f[0];
    r.path = (std::filesystem::path(root) / f[0]).string();
    if (labelled) {
      const auto it = std::find(labels.begin(), labels.end(), f[1]);
      if (it == labels.end()) {
        throw std::runtime_error("dcase: " + where + ": unknown label '" + f[1] + "'");
      }
      r.label = static_cast<int>(it - labels.begin());
      if (f.size() >= 3) r.session = f[2];
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(r.path, ec)) {
      skipped.add(r.name, "listed in " + std::filesystem::path(list_path).filename().string() +
                              " but missing");
      continue;
    }
    out.push_back(std::move(r));
  }
  return out;
}

Dataset read_dcase(const DcaseOptions& o) {
  o.validate();
  Dataset d;
  d.labels = o.labels.empty() ? dcase_labels() : o.labels;
  const std::filesystem::path setup = std::filesystem::path(o.root) / "evaluation_setup";
  const std::string fold = "fold" + std::to_string(o.fold);
  d.train.recordings =
      read_fold_list((setup / (fold + "_train.txt")).string(), o.root, d.labels, true, d.skipped);
  d.eval.recordings = read_fold_list((setup / (fold + "_evaluate.txt")).string(), o.root, d.labels,
                                     true, d.skipped);
  if (!o.eval_root.empty()) {
    const std::filesystem::path eval_list = std::filesystem::path(o.eval_root) / "evaluate.txt";
    const std::filesystem::path alt =
        std::filesystem::path(o.eval_root) / "evaluation_setup" / "evaluate.txt";
    const std::string list = std::filesystem::exists(eval_list) ? eval_list.string() : alt.string();
    d.test.recordings = read_fold_list(list, o.eval_root, d.labels, true, d.skipped);
  }
  return d;
}

}  // namespace tessera::data
