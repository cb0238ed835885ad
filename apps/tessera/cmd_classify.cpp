// tessera classify: a classifier on the frozen representations of a run
// (experiment/classify.h).
#include <cmath>
#include <cstdio>

#include "commands.h"
#include "device_option.h"
#include "tessera/common/format.h"
#include "tessera/common/log.h"
#include "tessera/common/temporary_files.h"
#include "tessera/experiment/classify.h"

namespace tessera::app {
namespace {

struct ClassifyArgs {
  experiment::ClassifyOptions options;
  std::string features = "network";
  bool random_weights = false;
};

int run_classify(ClassifyArgs& a) {
  common::remove_orphaned_temporaries(a.options.run_dir);
  if (a.features == "logmel-stats") {
    if (a.random_weights)
      throw std::invalid_argument(
          "classify: --random-weights has no meaning with --features "
          "logmel-stats (no network is used)");
    a.options.representation = experiment::Representation::kLogmelStats;
  } else {
    a.options.representation = a.random_weights ? experiment::Representation::kRandomWeights
                                                : experiment::Representation::kTrained;
  }
  const experiment::ClassifyResult r = experiment::run_classify(a.options);
  for (const auto& skipped : r.skipped) common::log_warning("classify: ", skipped, "; not scored");
  for (const auto& s : r.splits) {
    const std::string spread = s.scores.macro_f1_draws.empty()
                                   ? ""
                                   : " +- " + common::format_number(s.scores.macro_f1_std, "%.4f") +
                                         " over " + std::to_string(s.scores.macro_f1_draws.size()) +
                                         " label draws";
    std::printf("%s: accuracy %.4f, macro-F1 %.4f%s (%zu recordings), tile MAP@R %s\n",
                s.split.c_str(), s.scores.accuracy, s.scores.macro_f1, spread.c_str(), s.recordings,
                std::isfinite(s.tile_retrieval.map_at_r)
                    ? common::format_number(s.tile_retrieval.map_at_r, "%.4f").c_str()
                    : "undefined (no tile has a same-label tile in another recording)");
  }
  std::printf("%s/report.json\n", r.out_dir.c_str());
  return 0;
}

}  // namespace

Command add_classify_command(CLI::App& app) {
  auto a = std::make_shared<ClassifyArgs>();
  experiment::ClassifyOptions& o = a->options;
  CLI::App* cmd = app.add_subcommand(
      "classify", "train a classifier on a run's frozen embeddings and score it");
  cmd->add_option("--run-dir", o.run_dir, "a trained run directory")->required();
  cmd->add_option("--classifier", o.probe.kind, "logistic or dense")
      ->check(CLI::IsMember({"logistic", "dense"}));
  cmd->add_option("--epochs", o.probe.epochs, "full-batch training iterations")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--features", a->features,
                  "network (the run's network, at --layer) or logmel-stats (no network: each "
                  "log-mel band's mean and std over the clip, the classical baseline)")
      ->check(CLI::IsMember({"network", "logmel-stats"}));
  cmd->add_option("--layer", o.layer,
                  "embedding (the unit vectors the loss shaped) or pooled (the features the "
                  "head projects)")
      ->check(CLI::IsMember({"embedding", "pooled"}));
  cmd->add_option(
      "--out", o.out,
      "report folder (default: classify[_random|_logmel_stats][_pooled][_<K>_per_class] "
      "in the run)");
  cmd->add_option("--labelled-set", o.labelled_set,
                  "key=value (repeatable): score the run on another labelled set, naming it "
                  "with the config keys of its layout (eval_dataset, dcase_dataset_path, "
                  "dcase_dataset_fold, dcase_eval_dataset_path, music_dataset_path, labels, "
                  "train_test_split); its split and features stay in the report folder");
  cmd->add_option("--labels-per-class", o.labels_per_class,
                  "train the classifier on only this many labelled recordings of each class, "
                  "drawn by a seeded shuffle (0: all of the train split)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--draws", o.draws,
                  "with --labels-per-class: label subsets drawn, one classifier each; macro-F1 "
                  "is their mean (default 5)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", o.threads, "intra-op threads");
  add_device_option(cmd, o.device);
  cmd->add_flag("--random-weights", a->random_weights,
                "score the baseline instead: the run's initial (untrained) weights, batch norm "
                "statistics re-estimated on the train split; writes classify_random/");
  return {cmd, [a] { return run_classify(*a); }};
}

}  // namespace tessera::app
