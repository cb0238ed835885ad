#include "tessera/experiment/sweep_results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tessera/common/atomic_file.h"
#include "tessera/common/format.h"
#include "tessera/common/json_text.h"
#include "tessera/train/csv_log.h"

namespace tessera::experiment {
namespace fs = std::filesystem;
namespace {

using common::format_number;
constexpr auto fmt = [](double v, const char* f = "%.4g") { return format_number(v, f); };

int column(const std::vector<std::string>& header, const std::string& name,
           const std::string& file) {
  const auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end())
    throw std::runtime_error("sweep: '" + file + "' has no column '" + name + "'");
  return int(it - header.begin());
}

void read_centroids(const std::string& path, MarginRun& r) {
  std::ifstream in(path);
  if (!in) return;
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell;
    std::getline(ss, cell, ',');
    if (header) {
      while (std::getline(ss, cell, ',')) r.labels.push_back(cell);
      header = false;
      continue;
    }
    std::vector<double> row;
    while (std::getline(ss, cell, ','))
      row.push_back(cell == "nan" || cell == "-nan" ? NAN : std::strtod(cell.c_str(), nullptr));
    r.centroids.push_back(row);
  }
}

}  // namespace

std::string margin_dir_name(double margin) {
  return "margin_" + fmt(margin, "%g");
}

MarginRun read_margin_run(const std::string& dir, double margin) {
  MarginRun r;
  r.margin = margin;
  r.dir = dir;
  const std::string epochs_csv = dir + "/metrics/epochs.csv",
                    steps_csv = dir + "/metrics/train_steps.csv";
  if (!fs::exists(epochs_csv) || !fs::exists(steps_csv)) {
    throw std::runtime_error("sweep: '" + dir + "' has no metrics yet (missing " + epochs_csv +
                             ")");
  }
  try {
    const auto cfg = nlohmann::json::parse(common::read_file(dir + "/config.json"));
    r.epochs_planned = cfg.at("epochs").get<int>();
  } catch (const std::exception& e) {
    throw std::runtime_error("sweep: cannot read '" + dir + "/config.json': " + e.what());
  }
  std::vector<std::string> eh, sh;
  const auto epochs = train::CsvLog::read(epochs_csv, &eh);
  const auto steps = train::CsvLog::read(steps_csv, &sh);
  const int c_step = column(sh, "step", steps_csv), c_epoch = column(sh, "epoch", steps_csv);
  const int c_tl = column(sh, "triplet_loss", steps_csv),
            c_af = column(sh, "active_fraction", steps_csv);
  for (const auto& row : steps) {
    r.step.push_back(row[c_step]);
    r.step_triplet_loss.push_back(row[c_tl]);
    r.step_active_fraction.push_back(row[c_af]);
  }
  r.epochs_done = int(epochs.size());
  r.complete = r.epochs_done >= r.epochs_planned && r.epochs_planned > 0;
  for (const auto& row : epochs) {
    const double e = row[0];
    double end_step = 0;
    for (const auto& s : steps) {
      if (s[c_epoch] == e) end_step = s[c_step];
    }
    r.epoch_end_step.push_back(end_step);
    r.epoch_train_triplet_loss.push_back(row[column(eh, "train_triplet_loss", epochs_csv)]);
  }
  if (!epochs.empty()) {
    const auto& last = epochs.back();
    r.train_triplet_loss = last[column(eh, "train_triplet_loss", epochs_csv)];
    r.eval_triplet_loss = last[column(eh, "eval_triplet_loss", epochs_csv)];
    r.eval_active_fraction = last[column(eh, "eval_active_fraction", epochs_csv)];
    r.dist_neighbour = last[column(eh, "eval_dist_neighbour", epochs_csv)];
    r.dist_opposite = last[column(eh, "eval_dist_opposite", epochs_csv)];
    r.silhouette = last[column(eh, "silhouette", epochs_csv)];
    r.centroid_cv = last[column(eh, "centroid_cv", epochs_csv)];
    r.precision_at_1 = last[column(eh, "precision_at_1", epochs_csv)];
    r.map_at_r = last[column(eh, "map_at_r", epochs_csv)];
    r.nmi = last[column(eh, "nmi", epochs_csv)];
    const double e = last[0];
    double sum = 0;
    int n = 0;
    for (const auto& s : steps) {
      if (s[c_epoch] == e) sum += s[c_af], ++n;
    }
    r.active_fraction = n ? sum / n : 0;
    read_centroids(dir + "/eval/epoch_" + fmt(e, "%g") + "/centroid_distances.csv", r);
    double total = 0;
    int m = 0;
    for (std::size_t i = 0; i < r.centroids.size(); ++i)
      for (std::size_t j = i + 1; j < r.centroids[i].size(); ++j)
        if (std::isfinite(r.centroids[i][j])) total += r.centroids[i][j], ++m;
    r.mean_centroid_distance = m ? total / m : 0;
  }
  if (fs::exists(dir + "/classify/report.json")) {
    try {
      const auto c = nlohmann::json::parse(common::read_file(dir + "/classify/report.json"));
      if (c.contains("eval")) r.classify_macro_f1 = c["eval"].value("macro_f1", NAN);
      r.classify_labels_per_class = c.value("labels_per_class", 0);
    } catch (const std::exception&) {
    }
  }
  try {
    const auto t = nlohmann::json::parse(common::read_file(dir + "/metrics/timing.json"));
    r.seconds = t.value("seconds", 0.0);
    r.triplets_per_second = t.value("triplets_per_second", 0.0);
  } catch (const std::exception&) {
    // A run still in progress has no timing yet.
  }
  return r;
}

std::vector<MarginRun> read_sweep(const std::string& sweep_dir) {
  std::vector<MarginRun> runs;
  std::error_code ec;
  if (!fs::is_directory(sweep_dir, ec))
    throw std::runtime_error("report: '" + sweep_dir + "' is not a directory");
  for (const auto& e : fs::directory_iterator(sweep_dir)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("margin_", 0) != 0) continue;
    char* end = nullptr;
    const double m = std::strtod(name.c_str() + 7, &end);
    if (end == name.c_str() + 7 || *end != '\0') continue;
    if (!fs::exists(e.path() / "metrics" / "epochs.csv")) continue;
    runs.push_back(read_margin_run(e.path().string(), m));
  }
  std::sort(runs.begin(), runs.end(),
            [](const MarginRun& a, const MarginRun& b) { return a.margin < b.margin; });
  if (runs.empty())
    throw std::runtime_error("report: no trained margin_* directories in '" + sweep_dir + "'");
  return runs;
}

Recommendation recommend(const std::vector<MarginRun>& runs, const RecommendationRule& rule) {
  Recommendation rec;
  std::vector<const MarginRun*> kept;
  for (const auto& r : runs) {
    const std::string m = "margin " + fmt(r.margin, "%g");
    if (r.margin > rule.max_satisfiable_margin) {
      rec.excluded.push_back(
          m + ": cannot be satisfied (with unit-norm embeddings the loss stays >= margin - " +
          fmt(rule.max_satisfiable_margin, "%g") + " = " +
          fmt(r.margin - rule.max_satisfiable_margin, "%g") + ")");
    } else if (r.active_fraction < rule.min_active_fraction) {
      rec.excluded.push_back(m + ": active fraction " + fmt(r.active_fraction, "%.3f") + " < " +
                             fmt(rule.min_active_fraction, "%g") +
                             " (too easy: almost no triplet contributes)");
    } else {
      kept.push_back(&r);
    }
  }
  if (kept.empty()) {
    rec.reason = "every margin was excluded; see the exclusions";
    return rec;
  }
  const MarginRun* best = kept.front();
  for (const MarginRun* r : kept) {
    const double d = r->centroid_cv - best->centroid_cv;
    if (d < -rule.cv_tie_tolerance ||
        (std::fabs(d) <= rule.cv_tie_tolerance && r->silhouette > best->silhouette))
      best = r;
  }
  rec.found = true;
  rec.margin = best->margin;
  std::string others;
  for (const MarginRun* r : kept) {
    if (r != best)
      others += (others.empty() ? "" : ", ") + fmt(r->margin, "%g") + " (" +
                fmt(r->centroid_cv, "%.3f") + ")";
  }
  rec.reason = "margin " + fmt(best->margin, "%g") +
               " spreads the label centroids most evenly (centroid_cv " +
               fmt(best->centroid_cv, "%.3f") + ", silhouette " + fmt(best->silhouette, "%.3f") +
               ") among the margins that still learn and can be satisfied" +
               (others.empty() ? std::string(".") : "; the others: " + others + ".");
  return rec;
}

void write_summary(const std::string& dir, const std::vector<MarginRun>& runs,
                   const Recommendation& rec, const RecommendationRule& rule) {
  std::string csv =
      "margin,epochs,train_triplet_loss,eval_triplet_loss,active_fraction,eval_active_fraction,"
      "dist_neighbour,"
      "dist_opposite,silhouette,centroid_cv,mean_centroid_distance,precision_at_1,map_at_r,nmi,"
      "classify_macro_f1,"
      "seconds\n";
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : runs) {
    csv += fmt(r.margin, "%g") + "," + std::to_string(r.epochs_done);
    for (double v :
         {r.train_triplet_loss, r.eval_triplet_loss, r.active_fraction, r.eval_active_fraction,
          r.dist_neighbour, r.dist_opposite, r.silhouette, r.centroid_cv, r.mean_centroid_distance,
          r.precision_at_1, r.map_at_r, r.nmi, r.classify_macro_f1, r.seconds}) {
      csv += "," + fmt(v, "%.6g");
    }
    csv += "\n";
    rows.push_back({{"margin", r.margin},
                    {"epochs", r.epochs_done},
                    {"complete", r.complete},
                    {"train_triplet_loss", r.train_triplet_loss},
                    {"eval_triplet_loss", r.eval_triplet_loss},
                    {"active_fraction", r.active_fraction},
                    {"eval_active_fraction", r.eval_active_fraction},
                    {"dist_neighbour", r.dist_neighbour},
                    {"dist_opposite", r.dist_opposite},
                    {"silhouette", r.silhouette},
                    {"centroid_cv", r.centroid_cv},
                    {"mean_centroid_distance", r.mean_centroid_distance},
                    {"precision_at_1", r.precision_at_1},
                    {"map_at_r", r.map_at_r},
                    {"nmi", r.nmi},
                    {"classify_macro_f1", std::isfinite(r.classify_macro_f1)
                                              ? nlohmann::json(r.classify_macro_f1)
                                              : nlohmann::json()},
                    {"classify_labels_per_class", r.classify_labels_per_class},
                    {"seconds", r.seconds},
                    {"run_dir", r.dir}});
  }
  nlohmann::json j = {
      {"margins", rows},
      {"recommendation",
       {{"found", rec.found},
        {"margin", rec.found ? nlohmann::json(rec.margin) : nlohmann::json()},
        {"reason", rec.reason},
        {"excluded", rec.excluded}}},
      {"rule",
       {{"min_active_fraction", rule.min_active_fraction},
        {"max_satisfiable_margin", rule.max_satisfiable_margin},
        {"cv_tie_tolerance", rule.cv_tie_tolerance},
        {"text",
         "exclude margins above max_satisfiable_margin and margins whose final training "
         "active fraction is below min_active_fraction; among the rest choose the lowest "
         "centroid_cv, breaking ties within cv_tie_tolerance by the higher silhouette"}}}};
  common::write_file_atomic(dir + "/summary.csv", csv);
  common::write_file_atomic(dir + "/summary.json", common::dump_json(j, 2) + "\n");
}

}  // namespace tessera::experiment
