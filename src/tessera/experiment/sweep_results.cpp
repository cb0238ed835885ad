#include "tessera/experiment/sweep_results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "tessera/common/atomic_file.h"
#include "tessera/common/csv_log.h"
#include "tessera/common/format.h"
#include "tessera/common/json_text.h"

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

std::string seed_dir_name(std::int64_t seed) {
  return "seed_" + std::to_string(seed);
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
    r.seed = cfg.value("random_seed", std::int64_t(0));
  } catch (const std::exception& e) {
    throw std::runtime_error("sweep: cannot read '" + dir + "/config.json': " + e.what());
  }
  std::vector<std::string> eh, sh;
  const auto epochs = common::CsvLog::read(epochs_csv, &eh);
  const auto steps = common::CsvLog::read(steps_csv, &sh);
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

const char* const kIntervalMethod = "95% Student-t interval over seeds";

const std::vector<SummaryMetric>& summary_metrics() {
  static const std::vector<SummaryMetric> k = {
      {"train_triplet_loss", &MarginRun::train_triplet_loss},
      {"eval_triplet_loss", &MarginRun::eval_triplet_loss},
      {"active_fraction", &MarginRun::active_fraction},
      {"eval_active_fraction", &MarginRun::eval_active_fraction},
      {"dist_neighbour", &MarginRun::dist_neighbour},
      {"dist_opposite", &MarginRun::dist_opposite},
      {"silhouette", &MarginRun::silhouette},
      {"centroid_cv", &MarginRun::centroid_cv},
      {"mean_centroid_distance", &MarginRun::mean_centroid_distance},
      {"precision_at_1", &MarginRun::precision_at_1},
      {"map_at_r", &MarginRun::map_at_r},
      {"nmi", &MarginRun::nmi},
      {"classify_macro_f1", &MarginRun::classify_macro_f1},
      {"seconds", &MarginRun::seconds}};
  return k;
}

int MarginSummary::epochs_done() const {
  int e = runs.empty() ? 0 : runs.front().epochs_done;
  for (const auto& r : runs) e = std::min(e, r.epochs_done);
  return e;
}

bool MarginSummary::complete() const {
  return !runs.empty() &&
         std::all_of(runs.begin(), runs.end(), [](const MarginRun& r) { return r.complete; });
}

Interval MarginSummary::metric(double MarginRun::*value) const {
  std::vector<double> v;
  for (const auto& r : runs) v.push_back(r.*value);
  return mean_interval(v);
}

double MarginSummary::total_seconds() const {
  double t = 0;
  for (const auto& r : runs) t += r.seconds;
  return t;
}

std::vector<MarginSummary> summarise(std::vector<MarginRun> runs) {
  std::sort(runs.begin(), runs.end(), [](const MarginRun& a, const MarginRun& b) {
    return a.margin != b.margin ? a.margin < b.margin : a.seed < b.seed;
  });
  std::vector<MarginSummary> out;
  for (auto& r : runs) {
    if (out.empty() || out.back().margin != r.margin) {
      out.emplace_back();
      out.back().margin = r.margin;
    }
    out.back().runs.push_back(std::move(r));
  }
  for (auto& m : out) {
    // Average only runs whose matrix has the first run's labels; a run
    // without a matrix (no eval yet) adds nothing.
    std::vector<std::vector<double>> sum;
    std::vector<std::vector<int>> count;
    for (const auto& r : m.runs) {
      if (r.centroids.empty()) continue;
      if (m.labels.empty()) {
        m.labels = r.labels;
        sum.assign(r.centroids.size(), std::vector<double>(r.labels.size(), 0.0));
        count.assign(r.centroids.size(), std::vector<int>(r.labels.size(), 0));
      }
      if (r.labels != m.labels || r.centroids.size() != sum.size()) continue;
      for (std::size_t i = 0; i < sum.size(); ++i)
        for (std::size_t j = 0; j < sum[i].size() && j < r.centroids[i].size(); ++j)
          if (std::isfinite(r.centroids[i][j])) sum[i][j] += r.centroids[i][j], ++count[i][j];
    }
    m.mean_centroids = sum;
    for (std::size_t i = 0; i < sum.size(); ++i)
      for (std::size_t j = 0; j < sum[i].size(); ++j)
        m.mean_centroids[i][j] = count[i][j] ? sum[i][j] / count[i][j] : NAN;
  }
  return out;
}

std::vector<MarginSummary> read_sweep(const std::string& sweep_dir) {
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
    if (fs::exists(e.path() / "metrics" / "epochs.csv")) {
      runs.push_back(read_margin_run(e.path().string(), m));
      continue;
    }
    for (const auto& s : fs::directory_iterator(e.path())) {
      if (s.is_directory() && s.path().filename().string().rfind("seed_", 0) == 0 &&
          fs::exists(s.path() / "metrics" / "epochs.csv"))
        runs.push_back(read_margin_run(s.path().string(), m));
    }
  }
  if (runs.empty())
    throw std::runtime_error("report: no trained margin_* directories in '" + sweep_dir + "'");
  return summarise(std::move(runs));
}

std::vector<BaselineSummary> read_baselines(const std::string& sweep_dir) {
  std::vector<BaselineSummary> out;
  for (const auto& [key, name] :
       {std::pair<std::string, std::string>{"untrained", "untrained network"},
        {"logmel_stats", "log-mel statistics"}}) {
    const fs::path root = fs::path(sweep_dir) / "baselines" / key;
    std::vector<fs::path> reports;
    if (fs::exists(root / "report.json")) reports.push_back(root / "report.json");
    std::error_code ec;
    if (fs::is_directory(root, ec)) {
      for (const auto& e : fs::directory_iterator(root))
        if (e.is_directory() && fs::exists(e.path() / "report.json"))
          reports.push_back(e.path() / "report.json");
    }
    std::sort(reports.begin(), reports.end());
    if (reports.empty()) continue;
    BaselineSummary b;
    b.key = key;
    b.name = name;
    std::vector<double> f1, map;
    for (const auto& path : reports) {
      try {
        const auto j = nlohmann::json::parse(common::read_file(path.string()));
        b.labels_per_class = j.value("labels_per_class", 0);
        b.draws = j.value("draws", 1);
        const auto& e = j.at("eval");
        f1.push_back(e.at("macro_f1").is_number() ? e["macro_f1"].get<double>() : NAN);
        const auto& m = e.at("tile_retrieval").at("map_at_r");
        map.push_back(m.is_number() ? m.get<double>() : NAN);
      } catch (const std::exception& ex) {
        throw std::runtime_error("report: cannot read '" + path.string() + "': " + ex.what());
      }
    }
    b.runs = int(reports.size());
    b.macro_f1 = mean_interval(f1);
    b.tile_map_at_r = mean_interval(map);
    out.push_back(b);
  }
  return out;
}

namespace {

std::string margin_list(const std::vector<double>& margins) {
  std::string s;
  for (std::size_t i = 0; i < margins.size(); ++i) {
    if (i > 0) s += i + 1 == margins.size() ? " and " : ", ";
    s += fmt(margins[i], "%g");
  }
  return s;
}

}  // namespace

Recommendation recommend(const std::vector<MarginSummary>& margins,
                         const RecommendationRule& rule) {
  Recommendation rec;
  std::vector<const MarginSummary*> kept;
  for (const auto& s : margins) {
    const std::string m = "margin " + fmt(s.margin, "%g");
    const double active = s.metric(&MarginRun::active_fraction).mean;
    if (s.margin > rule.max_satisfiable_margin) {
      rec.excluded.push_back(
          m + ": cannot be satisfied (with unit-norm embeddings the loss stays >= margin - " +
          fmt(rule.max_satisfiable_margin, "%g") + " = " +
          fmt(s.margin - rule.max_satisfiable_margin, "%g") + ")");
    } else if (!(active >= rule.min_active_fraction)) {
      rec.excluded.push_back(m + ": active fraction " + fmt(active, "%.3f") + " < " +
                             fmt(rule.min_active_fraction, "%g") +
                             " (too easy: almost no triplet contributes)");
    } else if (!std::isfinite(s.metric(&MarginRun::centroid_cv).mean)) {
      rec.excluded.push_back(m + ": centroid_cv is undefined (fewer than two labels evaluated)");
    } else {
      kept.push_back(&s);
    }
  }
  if (kept.empty()) {
    rec.reason = "every margin was excluded; see the exclusions";
    return rec;
  }
  rec.uncertainty_measured = std::all_of(kept.begin(), kept.end(), [](const MarginSummary* s) {
    return s->metric(&MarginRun::centroid_cv).measured();
  });
  auto cv = [](const MarginSummary* s) { return s->metric(&MarginRun::centroid_cv); };
  auto silhouette = [](const MarginSummary* s) { return s->metric(&MarginRun::silhouette).mean; };
  const MarginSummary* best = kept.front();
  for (const MarginSummary* s : kept) {
    const double d = cv(s).mean - cv(best).mean;
    const double tolerance = rec.uncertainty_measured ? 0.0 : rule.cv_tie_tolerance;
    if (d < -tolerance || (std::fabs(d) <= tolerance && silhouette(s) > silhouette(best))) best = s;
  }
  rec.found = true;
  rec.margin = best->margin;
  rec.centroid_cv = cv(best);
  for (const MarginSummary* s : kept) {
    if (s == best) continue;
    (rec.uncertainty_measured && cv(s).overlaps(rec.centroid_cv) ? rec.tied_with : rec.worse)
        .push_back(s->margin);
  }
  const std::string among = " among the margins that still learn and can be satisfied";
  if (rec.uncertainty_measured) {
    const int n = best->seeds();
    rec.reason = "margin " + fmt(best->margin, "%g") + " (centroid_cv " +
                 format_interval(rec.centroid_cv) + ", " + kIntervalMethod + ", " +
                 std::to_string(n) + " seeds) spreads the label centroids most evenly" + among;
    if (!rec.tied_with.empty())
      rec.reason += "; " + margin_list(rec.tied_with) +
                    (rec.tied_with.size() == 1 ? " is" : " are") + " within noise of it";
    if (!rec.worse.empty())
      rec.reason +=
          "; " + margin_list(rec.worse) + (rec.worse.size() == 1 ? " is" : " are") + " worse";
    rec.reason += ".";
    return rec;
  }
  std::string others;
  for (const MarginSummary* s : kept) {
    if (s != best)
      others += (others.empty() ? "" : ", ") + fmt(s->margin, "%g") + " (" +
                fmt(cv(s).mean, "%.3f") + ")";
  }
  rec.reason = "margin " + fmt(best->margin, "%g") +
               " spreads the label centroids most evenly (centroid_cv " +
               fmt(rec.centroid_cv.mean, "%.3f") + ", silhouette " + fmt(silhouette(best), "%.3f") +
               ")" + among + (others.empty() ? std::string(".") : "; the others: " + others + ".") +
               " No uncertainty was measured: some margin has a single seed, so these "
               "differences may be run-to-run noise (sweep --seeds N gives intervals).";
  return rec;
}

namespace {

std::string csv_number(double v) {
  return std::isfinite(v) ? fmt(v, "%.6g") : "";
}

nlohmann::json interval_json(const Interval& v) {
  return {{"mean", common::finite_or_null(v.mean)},
          {"std", common::finite_or_null(v.std)},
          {"lo", common::finite_or_null(v.lo)},
          {"hi", common::finite_or_null(v.hi)},
          {"n", v.n}};
}

nlohmann::json run_json(const MarginRun& r) {
  nlohmann::json j = {{"margin", r.margin},
                      {"seed", r.seed},
                      {"epochs", r.epochs_done},
                      {"complete", r.complete},
                      {"classify_labels_per_class", r.classify_labels_per_class},
                      {"run_dir", r.dir}};
  for (const auto& m : summary_metrics()) j[m.name] = common::finite_or_null(r.*m.value);
  return j;
}

}  // namespace

void write_summary(const std::string& dir, const std::vector<MarginSummary>& margins,
                   const std::vector<BaselineSummary>& baselines, const Recommendation& rec,
                   const RecommendationRule& rule) {
  std::string csv = "margin,seeds,epochs", seeds_csv = "margin,seed,epochs";
  for (const auto& m : summary_metrics()) {
    seeds_csv += std::string(",") + m.name;
    for (const char* part : {"_mean", "_std", "_lo", "_hi"})
      csv += std::string(",") + m.name + part;
  }
  csv += "\n";
  seeds_csv += "\n";
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& s : margins) {
    csv += fmt(s.margin, "%g") + "," + std::to_string(s.seeds()) + "," +
           std::to_string(s.epochs_done());
    nlohmann::json row = {{"margin", s.margin},
                          {"seeds", s.seeds()},
                          {"epochs", s.epochs_done()},
                          {"complete", s.complete()}};
    for (const auto& m : summary_metrics()) {
      const Interval v = s.metric(m.value);
      for (double x : {v.mean, v.std, v.lo, v.hi}) csv += "," + csv_number(x);
      row[m.name] = interval_json(v);
    }
    csv += "\n";
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& r : s.runs) {
      seeds_csv +=
          fmt(r.margin, "%g") + "," + std::to_string(r.seed) + "," + std::to_string(r.epochs_done);
      for (const auto& m : summary_metrics()) seeds_csv += "," + csv_number(r.*m.value);
      seeds_csv += "\n";
      runs.push_back(run_json(r));
    }
    row["runs"] = runs;
    rows.push_back(row);
  }
  nlohmann::json baseline_rows = nlohmann::json::array();
  for (const auto& b : baselines) {
    baseline_rows.push_back({{"baseline", b.key},
                             {"name", b.name},
                             {"runs", b.runs},
                             {"labels_per_class", b.labels_per_class},
                             {"draws", b.draws},
                             {"classify_macro_f1", interval_json(b.macro_f1)},
                             {"tile_map_at_r", interval_json(b.tile_map_at_r)}});
  }
  nlohmann::json j = {
      {"margins", rows},
      {"baselines", baseline_rows},
      {"interval_method", kIntervalMethod},
      {"recommended_margin", rec.found ? nlohmann::json(rec.margin) : nlohmann::json()},
      {"tied_with", rec.tied_with},
      {"recommendation",
       {{"found", rec.found},
        {"margin", rec.found ? nlohmann::json(rec.margin) : nlohmann::json()},
        {"centroid_cv", interval_json(rec.centroid_cv)},
        {"uncertainty_measured", rec.uncertainty_measured},
        {"tied_with", rec.tied_with},
        {"worse", rec.worse},
        {"reason", rec.reason},
        {"excluded", rec.excluded}}},
      {"rule",
       {{"min_active_fraction", rule.min_active_fraction},
        {"max_satisfiable_margin", rule.max_satisfiable_margin},
        {"cv_tie_tolerance", rule.cv_tie_tolerance},
        {"text",
         "exclude margins above max_satisfiable_margin and margins whose mean final training "
         "active fraction is below min_active_fraction; among the rest choose the lowest mean "
         "centroid_cv. With two or more seeds per margin, every margin whose interval overlaps "
         "the winner's is tied with it; with one seed, ties within cv_tie_tolerance go to the "
         "higher silhouette"}}}};
  common::write_file_atomic(dir + "/summary.csv", csv);
  common::write_file_atomic(dir + "/summary_seeds.csv", seeds_csv);
  common::write_file_atomic(dir + "/summary.json", common::dump_json(j, 2) + "\n");
}

}  // namespace tessera::experiment
