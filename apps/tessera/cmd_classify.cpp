// tessera classify: a classifier on the frozen embeddings of a run.
#include <filesystem>
#include <thread>

#include "commands.h"
#include "device_option.h"
#include "tessera/common/atomic_file.h"
#include "tessera/common/format.h"
#include "tessera/common/log.h"
#include "tessera/common/temporary_files.h"
#include "tessera/common/threads.h"
#include "tessera/eval/embedder.h"
#include "tessera/eval/linear_probe.h"
#include "tessera/eval/retrieval_metrics.h"
#include "tessera/experiment/figures.h"
#include "tessera/train/run_data.h"

namespace tessera::app {
namespace {

struct ClassifyArgs {
  std::string run_dir, device = "cpu", layer = "embedding", out;
  eval::ProbeOptions probe;
  int threads = 0, labels_per_class = 0, draws = 5;
  bool random_weights = false;
};

int run_classify(const ClassifyArgs& a) {
  const int threads = common::resolve_threads(a.threads);
  torch::set_num_threads(threads);
  common::remove_orphaned_temporaries(a.run_dir);
  eval::TrainedModel model = a.random_weights ? eval::random_weights_model(a.run_dir, a.device)
                                              : eval::load_trained_model(a.run_dir, a.device);
  train::RunData data = train::RunData::load(model.config, a.run_dir, threads, /*with_test=*/true);
  if (a.random_weights) eval::recalibrate_batch_norm(model, *data.train);
  eval::Embedder embedder(model, 64, eval::parse_layer(a.layer));
  const auto& labels = data.dataset.labels;
  const int k = int(labels.size());
  const eval::RecordingEmbeddings train = eval::embed_split(embedder, *data.train);
  eval::FewLabelProbes probes(a.probe, train.vectors, train.labels, k, a.labels_per_class, a.draws);
  nlohmann::json report = {{"run_dir", a.run_dir},
                           {"weights", a.random_weights ? "random" : "trained"},
                           {"checkpoint", model.checkpoint},
                           {"classifier", a.probe.kind},
                           {"layer", a.layer},
                           {"epochs", a.probe.epochs},
                           {"train_recordings", train.labels.size()},
                           {"labelled_train_recordings", probes.labelled_rows()},
                           {"labels_per_class", a.labels_per_class},
                           {"draws", probes.draws()},
                           {"labels", labels}};
  // Each protocol has a folder of its own, so that they can be compared.
  const std::string out =
      !a.out.empty()
          ? a.out
          : a.run_dir + (a.random_weights ? "/classify_random" : "/classify") +
                (a.layer == "pooled" ? "_pooled" : "") +
                (a.labels_per_class > 0 ? "_" + std::to_string(a.labels_per_class) + "_per_class"
                                        : "");
  common::make_dirs(out);
  for (const auto& [name, store] :
       {std::pair<std::string, const sampling::TileStore*>{"eval", data.eval.get()},
        {"test", data.test.get()}}) {
    if (!store || store->size() == 0) continue;
    const eval::RecordingEmbeddings e = eval::embed_split(embedder, *store);
    if (std::any_of(e.labels.begin(), e.labels.end(), [](int l) { return l < 0; })) {
      common::log_warning("classify: the ", name, " split is unlabelled; not scored");
      continue;
    }
    const eval::ClassScores s = probes.score(e.vectors, e.labels);
    report[name] = s.to_json(labels);
    // Tile retrieval across recordings: what `neighbours` shows a listener.
    const eval::RetrievalMetrics rm =
        eval::retrieval_metrics(e.tiles, e.tile_labels, e.tile_recording);
    report[name]["tile_retrieval"] = {{"precision_at_1", rm.precision_at_1},
                                      {"r_precision", rm.r_precision},
                                      {"map_at_r", rm.map_at_r},
                                      {"tiles", e.tile_labels.size()}};
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
    common::write_file_atomic(out + "/confusion_" + name + ".csv", csv);
    experiment::draw_heatmap({"Confusion (" + name + "), rows: true label; macro-F1 " +
                                  std::to_string(s.macro_f1).substr(0, 5),
                              labels, m},
                             out + "/confusion_" + name);
    const std::string spread = s.macro_f1_draws.empty()
                                   ? ""
                                   : " +- " + common::format_number(s.macro_f1_std, "%.4f") +
                                         " over " + std::to_string(s.macro_f1_draws.size()) +
                                         " label draws";
    std::printf("%s: accuracy %.4f, macro-F1 %.4f%s (%zu recordings), tile MAP@R %.4f\n",
                name.c_str(), s.accuracy, s.macro_f1, spread.c_str(), e.labels.size(), rm.map_at_r);
  }
  common::write_file_atomic(out + "/report.json", report.dump(2) + "\n");
  std::printf("%s/report.json\n", out.c_str());
  return 0;
}

}  // namespace

Command add_classify_command(CLI::App& app) {
  auto a = std::make_shared<ClassifyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "classify", "train a classifier on a run's frozen embeddings and score it");
  cmd->add_option("--run-dir", a->run_dir, "a trained run directory")->required();
  cmd->add_option("--classifier", a->probe.kind, "logistic or dense")
      ->check(CLI::IsMember({"logistic", "dense"}));
  cmd->add_option("--epochs", a->probe.epochs, "full-batch training iterations")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--layer", a->layer,
                  "embedding (the unit vectors the loss shaped) or pooled (the features the "
                  "head projects)")
      ->check(CLI::IsMember({"embedding", "pooled"}));
  cmd->add_option("--out", a->out,
                  "report folder (default: classify[_random][_pooled][_<K>_per_class] in the run)");
  cmd->add_option("--labels-per-class", a->labels_per_class,
                  "train the classifier on only this many labelled recordings of each class, "
                  "drawn by a seeded shuffle (0: all of the train split)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--draws", a->draws,
                  "with --labels-per-class: label subsets drawn, one classifier each; macro-F1 "
                  "is their mean (default 5)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", a->threads, "intra-op threads");
  add_device_option(cmd, a->device);
  cmd->add_flag("--random-weights", a->random_weights,
                "score the baseline instead: the run's initial (untrained) weights, batch norm "
                "statistics re-estimated on the train split; writes classify_random/");
  return {cmd, [a] { return run_classify(*a); }};
}

}  // namespace tessera::app
