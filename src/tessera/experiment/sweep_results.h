// What a margin sweep produced, read back from its run directories (so that
// `tessera report` needs no model), and the recommendation rule.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::experiment {

struct MarginRun {
  double margin = 0;
  std::string dir;
  int epochs_done = 0, epochs_planned = 0;
  bool complete = false;
  // Final values (last completed epoch).
  double train_triplet_loss = 0, eval_triplet_loss = 0;
  double active_fraction = 0;  // training, mean over the last epoch's steps
  double eval_active_fraction = 0, dist_neighbour = 0, dist_opposite = 0;
  double silhouette = 0, centroid_cv = 0, mean_centroid_distance = 0;
  double precision_at_1 = 0, map_at_r = 0, nmi = 0;
  double classify_macro_f1 = NAN;     // eval macro-F1 of `tessera classify`, when it ran
  int classify_labels_per_class = 0;  // its protocol (0: every train label)
  std::vector<std::string> labels;
  std::vector<std::vector<double>> centroids;
  // Curves.
  std::vector<double> step, step_triplet_loss, step_active_fraction;
  std::vector<double> epoch_end_step, epoch_train_triplet_loss;
  // Timing.
  double seconds = 0, triplets_per_second = 0;
};

// "margin_0.3", "margin_1", "margin_10": the directory of a margin.
std::string margin_dir_name(double margin);

// Reads one run directory; throws std::runtime_error naming a missing file.
MarginRun read_margin_run(const std::string& dir, double margin);
// Every margin_* directory of a sweep, sorted by margin.
std::vector<MarginRun> read_sweep(const std::string& sweep_dir);

struct RecommendationRule {
  double min_active_fraction = 0.02;    // below: nothing left to learn
  double max_satisfiable_margin = 4.0;  // d(a,n) - d(a,o) >= -4 for unit vectors
  double cv_tie_tolerance = 0.01;       // centroid_cv this close counts as a tie
};

struct Recommendation {
  bool found = false;
  double margin = 0;
  std::string reason;
  std::vector<std::string> excluded;  // "margin 10: ..." per excluded margin
};

Recommendation recommend(const std::vector<MarginRun>& runs, const RecommendationRule& rule);

// summary.csv and summary.json in `sweep_dir`.
void write_summary(const std::string& sweep_dir, const std::vector<MarginRun>& runs,
                   const Recommendation& rec, const RecommendationRule& rule);

}  // namespace tessera::experiment
