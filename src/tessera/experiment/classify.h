// A classifier on a run's frozen representations, scored on the labelled
// splits: what `tessera classify` and `sweep --classify` do. The
// representation is the trained embedding, the same network with its initial
// weights (the untrained baseline) or log-mel statistics (the classical
// baseline); each is scored by the same probe and label protocol.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/eval/linear_probe.h"
#include "tessera/eval/retrieval_metrics.h"

namespace tessera::experiment {

enum class Representation { kTrained, kRandomWeights, kLogmelStats };
Representation parse_representation(
    const std::string& name);  // trained, random-weights, logmel-stats
std::string representation_name(Representation r);

struct ClassifyOptions {
  std::string run_dir;  // a run directory: its config.json, data and (trained) checkpoints
  std::string out;      // report folder; empty: default_classify_dir()
  Representation representation = Representation::kTrained;
  std::string layer = "embedding";  // embedding or pooled (network representations)
  std::string device = "cpu";
  eval::ProbeOptions probe;
  int labels_per_class = 0;  // 0: every train label
  int draws = 5;             // label subsets drawn when labels_per_class > 0
  int threads = 0;           // intra-op threads for LibTorch; 0: all cores
  // "key=value" assignments of the labelled set's keys (labelled_set_keys())
  // over the run's config: the run is scored on another labelled set than
  // the one it was evaluated on. Its split file and cache go in the report
  // folder.
  std::vector<std::string> labelled_set;
  void validate() const;
};

// The config keys that name a labelled set; the only ones labelled_set may set.
const std::vector<std::string>& labelled_set_keys();

// classify[_random|_logmel_stats][_pooled][_<K>_per_class][_on_<folder>]
// inside the run (<folder>: the last folder of the labelled set's path).
std::string default_classify_dir(const ClassifyOptions& options);

struct SplitScores {
  std::string split;  // eval or test
  std::size_t recordings = 0;
  eval::ClassScores scores;
  eval::RetrievalMetrics tile_retrieval;
};

struct ClassifyResult {
  std::string out_dir;
  std::vector<SplitScores> splits;   // the labelled ones; an unlabelled split is skipped
  std::vector<std::string> skipped;  // "test: unlabelled"
};

// Writes report.json, confusion_<split>.csv and confusion_<split>.{png,svg}
// into the report folder. Sets LibTorch's thread count when threads > 0.
ClassifyResult run_classify(const ClassifyOptions& options);

// Whether `out_dir/report.json` exists and followed this protocol
// (representation, layer, labels per class and draws).
bool classified_with(const std::string& out_dir, const ClassifyOptions& options);

}  // namespace tessera::experiment
