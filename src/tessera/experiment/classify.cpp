#include "tessera/experiment/classify.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include "tessera/common/atomic_file.h"
#include "tessera/common/format.h"
#include "tessera/common/json_text.h"
#include "tessera/common/log.h"
#include "tessera/common/near_match.h"
#include "tessera/common/threads.h"
#include "tessera/eval/embedder.h"
#include "tessera/eval/logmel_stats.h"
#include "tessera/plot/figures.h"
#include "tessera/sampling/run_data.h"
#include "tessera/study/config_options.h"
#include "tessera/study/trained_run.h"

namespace tessera::experiment {
namespace {

void write_confusion(const std::string& out, const std::string& split,
                     const std::vector<std::string>& labels, const eval::ClassScores& s) {
  const int k = int(labels.size());
  std::string csv = "true\\predicted";
  for (const auto& l : labels) csv += "," + l;
  csv += "\n";
  std::vector<std::vector<double>> m(k, std::vector<double>(k));
  for (int i = 0; i < k; ++i) {
    csv += labels[i];
    for (int j = 0; j < k; ++j)
      csv += "," + std::to_string(s.confusion[i][j]), m[i][j] = s.confusion[i][j];
    csv += "\n";
  }
  common::write_file_atomic(out + "/confusion_" + split + ".csv", csv);
  plot::draw_heatmap({"Confusion (" + split + "), rows: true label; macro-F1 " +
                          common::format_number(s.macro_f1, "%.3f"),
                      labels, m},
                     out + "/confusion_" + split);
}

}  // namespace

Representation parse_representation(const std::string& name) {
  if (name == "trained") return Representation::kTrained;
  if (name == "random-weights") return Representation::kRandomWeights;
  if (name == "logmel-stats") return Representation::kLogmelStats;
  throw std::invalid_argument("classify: unknown representation '" + name +
                              "' (trained, random-weights or logmel-stats)");
}

std::string representation_name(Representation r) {
  switch (r) {
    case Representation::kTrained:
      return "trained";
    case Representation::kRandomWeights:
      return "random-weights";
    case Representation::kLogmelStats:
      return "logmel-stats";
  }
  return "?";
}

const std::vector<std::string>& labelled_set_keys() {
  static const std::vector<std::string> kKeys = {"eval_dataset",       "dcase_dataset_path",
                                                 "dcase_dataset_fold", "dcase_eval_dataset_path",
                                                 "music_dataset_path", "labels",
                                                 "train_test_split"};
  return kKeys;
}

namespace {

std::string assignment_key(const std::string& a) {
  return a.substr(0, a.find('='));
}

// The labelled set's folder name, for the default report folder.
std::string labelled_set_name(const std::vector<std::string>& assignments) {
  for (const auto& a : assignments) {
    const std::string key = assignment_key(a);
    if (key.size() > 5 && key.compare(key.size() - 5, 5, "_path") == 0) {
      std::string path = a.substr(a.find('=') + 1);
      while (path.size() > 1 && path.back() == '/') path.pop_back();
      return std::filesystem::path(path).filename().string();
    }
  }
  return "other_set";
}

}  // namespace

void ClassifyOptions::validate() const {
  for (const auto& a : labelled_set) {
    const std::string key = assignment_key(a);
    const auto& keys = labelled_set_keys();
    if (a.find('=') == std::string::npos ||
        std::find(keys.begin(), keys.end(), key) == keys.end()) {
      std::string names;
      for (const auto& k : keys) names += (names.empty() ? "" : ", ") + k;
      throw std::invalid_argument(
          "classify: --labelled-set takes key=value with a key of the "
          "labelled set (" +
          names + "), got '" + a + "'" + common::did_you_mean(key, keys));
    }
  }
  if (run_dir.empty()) throw std::invalid_argument("classify: no run directory given");
  if (labels_per_class < 0) throw std::invalid_argument("classify: labels per class must be >= 0");
  if (draws < 1) throw std::invalid_argument("classify: draws must be >= 1");
  eval::parse_layer(layer);  // throws on an unknown layer
  probe.validate();
}

std::string default_classify_dir(const ClassifyOptions& o) {
  std::string name = "classify";
  if (o.representation == Representation::kRandomWeights) name += "_random";
  if (o.representation == Representation::kLogmelStats) name += "_logmel_stats";
  if (o.representation != Representation::kLogmelStats && o.layer == "pooled") name += "_pooled";
  if (o.labels_per_class > 0) name += "_" + std::to_string(o.labels_per_class) + "_per_class";
  if (!o.labelled_set.empty()) name += "_on_" + labelled_set_name(o.labelled_set);
  return o.run_dir + "/" + name;
}

ClassifyResult run_classify(const ClassifyOptions& o) {
  o.validate();
  const int threads = common::resolve_threads(o.threads);
  if (o.threads > 0) torch::set_num_threads(threads);
  // The run's config.json, read once: it builds the network, and (with
  // another labelled set's overrides) the data.
  study::Config config = study::load_run_config(o.run_dir);
  // The network, for the two network representations.
  std::optional<eval::TrainedModel> model;
  if (o.representation == Representation::kTrained)
    model = study::load_trained_model(config, o.run_dir, o.device, "");
  else if (o.representation == Representation::kRandomWeights)
    model = study::random_weights_model(config, o.run_dir, o.device);
  ClassifyResult result;
  result.out_dir = o.out.empty() ? default_classify_dir(o) : o.out;
  // Another labelled set keeps its split and features out of the run's.
  std::string data_dir = o.run_dir;
  if (!o.labelled_set.empty()) {
    for (const auto& a : o.labelled_set) config.apply_override(a);
    config.validate();
    if (config.cache_dir.empty()) config.cache_dir = o.run_dir + "/cache";
    data_dir = result.out_dir;
    common::make_dirs(data_dir);
  }
  sampling::RunData data = sampling::RunData::load(study::run_data_options(config, data_dir),
                                                   threads, /*with_test=*/true);
  if (o.representation == Representation::kRandomWeights)
    eval::recalibrate_batch_norm(*model, *data.train);
  std::optional<eval::Embedder> embedder;
  if (model) embedder.emplace(*model, 64, eval::parse_layer(o.layer));
  auto represent = [&](const sampling::TileStore& store) {
    return embedder ? eval::embed_split(*embedder, store) : eval::logmel_stats_split(store);
  };

  const auto& labels = data.dataset.labels;
  const eval::RecordingEmbeddings train = represent(data.probe_train());
  eval::FewLabelProbes probes(o.probe, train.vectors, train.labels, int(labels.size()),
                              o.labels_per_class, o.draws);
  nlohmann::json report = {
      {"run_dir", o.run_dir},
      {"representation", representation_name(o.representation)},
      {"weights", o.representation == Representation::kTrained         ? "trained"
                  : o.representation == Representation::kRandomWeights ? "random"
                                                                       : "none"},
      {"checkpoint", model ? model->checkpoint : std::string()},
      {"classifier", o.probe.kind},
      {"layer", o.representation == Representation::kLogmelStats ? "logmel-stats" : o.layer},
      {"epochs", o.probe.epochs},
      {"dimensions", train.vectors.dim() == 2 ? train.vectors.size(1) : 0},
      {"train_recordings", train.labels.size()},
      {"labelled_train_recordings", probes.labelled_rows()},
      {"labels_per_class", o.labels_per_class},
      {"draws", probes.draws()},
      {"labels", labels},
      {"labelled_set", o.labelled_set}};
  common::make_dirs(result.out_dir);
  for (const auto& [name, store] :
       {std::pair<std::string, const sampling::TileStore*>{"eval", data.eval.get()},
        {"test", data.test.get()}}) {
    if (!store || store->size() == 0) continue;
    const eval::RecordingEmbeddings e = represent(*store);
    if (std::any_of(e.labels.begin(), e.labels.end(), [](int l) { return l < 0; })) {
      result.skipped.push_back(name + ": unlabelled");
      continue;
    }
    SplitScores s;
    s.split = name;
    s.recordings = e.labels.size();
    s.scores = probes.score(e.vectors, e.labels);
    // Tile retrieval across recordings: what `neighbours` shows a listener.
    s.tile_retrieval = eval::retrieval_metrics(e.tiles, e.tile_labels, e.tile_recording);
    report[name] = s.scores.to_json(labels);
    report[name]["tile_retrieval"] = {
        {"precision_at_1", common::finite_or_null(s.tile_retrieval.precision_at_1)},
        {"r_precision", common::finite_or_null(s.tile_retrieval.r_precision)},
        {"map_at_r", common::finite_or_null(s.tile_retrieval.map_at_r)},
        {"queries", s.tile_retrieval.queries},
        {"tiles", e.tile_labels.size()}};
    write_confusion(result.out_dir, name, labels, s.scores);
    result.splits.push_back(std::move(s));
  }
  common::write_file_atomic(result.out_dir + "/report.json", common::dump_json(report, 2) + "\n");
  return result;
}

bool classified_with(const std::string& out_dir, const ClassifyOptions& o) {
  try {
    const auto j = nlohmann::json::parse(common::read_file(out_dir + "/report.json"));
    const std::string layer =
        o.representation == Representation::kLogmelStats ? "logmel-stats" : o.layer;
    return j.value("representation", "trained") == representation_name(o.representation) &&
           j.value("labels_per_class", 0) == o.labels_per_class &&
           (o.labels_per_class == 0 || j.value("draws", 1) == o.draws) &&
           j.value("layer", "embedding") == layer && j.value("classifier", "") == o.probe.kind;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace tessera::experiment
