// What a margin sweep produced, read back from its run directories (so that
// `tessera report` needs no model), summarised over seeds, and the
// recommendation rule.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "tessera/experiment/interval.h"

namespace tessera::experiment {

// One training: a margin and a seed.
struct MarginRun {
  double margin = 0;
  std::int64_t seed = 0;
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

// A final value that the summary gives over seeds.
struct SummaryMetric {
  const char* name;  // the column of summary_seeds.csv; summary.csv adds _mean, _std, _lo, _hi
  double MarginRun::*value;
};
const std::vector<SummaryMetric>& summary_metrics();

// One margin over its seeds.
struct MarginSummary {
  double margin = 0;
  std::vector<MarginRun> runs;  // by seed
  // The label-centroid distances averaged over the seeds (cell by cell; the
  // labels are the same in every run of a sweep).
  std::vector<std::string> labels;
  std::vector<std::vector<double>> mean_centroids;

  int seeds() const { return int(runs.size()); }
  int epochs_done() const;  // the fewest of any seed
  bool complete() const;    // every seed finished
  Interval metric(double MarginRun::*value) const;
  double total_seconds() const;
};

// Groups runs by margin (sorted by margin, then seed) and averages their
// centroid matrices.
std::vector<MarginSummary> summarise(std::vector<MarginRun> runs);

// "margin_0.3", "margin_1", "margin_10": the directory of a margin.
std::string margin_dir_name(double margin);
// "seed_42": the directory of one seed inside its margin's, when a sweep has
// more than one seed per margin.
std::string seed_dir_name(std::int64_t seed);

// Reads one run directory; throws std::runtime_error naming a missing file.
// The seed is the run's config.json random_seed.
MarginRun read_margin_run(const std::string& dir, double margin);
// Every run of a sweep: margin_<m>/ (one seed) or margin_<m>/seed_<s>/
// (several), grouped by margin.
std::vector<MarginSummary> read_sweep(const std::string& sweep_dir);

// A reference scored by the same probe and label protocol as the margins
// (sweep --classify): the untrained network (one run per seed) and log-mel
// statistics.
struct BaselineSummary {
  std::string key;   // untrained, logmel_stats: its folder under DIR/baselines
  std::string name;  // as the report says it
  int runs = 0;
  int labels_per_class = 0, draws = 0;
  Interval macro_f1, tile_map_at_r;  // eval split
};
// The baselines of a sweep that has them; missing ones are left out.
std::vector<BaselineSummary> read_baselines(const std::string& sweep_dir);

struct RecommendationRule {
  double min_active_fraction = 0.02;    // below: nothing left to learn
  double max_satisfiable_margin = 4.0;  // d(a,n) - d(a,o) >= -4 for unit vectors
  double cv_tie_tolerance = 0.01;       // one seed: centroid_cv this close counts as a tie
};

struct Recommendation {
  bool found = false;
  double margin = 0;
  std::string reason;
  std::vector<std::string> excluded;  // "margin 10: ..." per excluded margin
  // Every kept margin has an interval (two or more seeds); otherwise the
  // verdict rests on single runs and says so.
  bool uncertainty_measured = false;
  Interval centroid_cv;           // the recommended margin's
  std::vector<double> tied_with;  // kept margins whose interval overlaps the winner's
  std::vector<double> worse;      // kept margins whose interval lies above it
};

// The study's rule with the seeds' noise: exclude margins that cannot be
// satisfied and margins whose (mean) training active fraction says they
// stopped learning; among the rest take the lowest mean centroid_cv. With
// intervals, every kept margin whose interval overlaps the winner's is tied
// with it. With one seed, silhouette breaks centroid_cv ties within
// cv_tie_tolerance, and the verdict states that no uncertainty was measured.
Recommendation recommend(const std::vector<MarginSummary>& margins, const RecommendationRule& rule);

// summary.csv (one row per margin: mean, std and interval of each metric),
// summary_seeds.csv (one row per run) and summary.json (both, the
// baselines and the verdict) in `sweep_dir`.
void write_summary(const std::string& sweep_dir, const std::vector<MarginSummary>& margins,
                   const std::vector<BaselineSummary>& baselines, const Recommendation& rec,
                   const RecommendationRule& rule);

// The interval method, as the summary and the report name it.
extern const char* const kIntervalMethod;

}  // namespace tessera::experiment
