#include "tessera/experiment/report.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <torch/torch.h>

#include "tessera/common/atomic_file.h"
#include "tessera/common/format.h"
#include "tessera/common/json_text.h"
#include "tessera/common/log.h"
#include "tessera/experiment/report_document.h"
#include "tessera/plot/figures.h"
#include "tessera/study/config.h"

namespace tessera::experiment {
namespace fs = std::filesystem;
namespace {

using common::format_number;
constexpr auto fmt = [](double v, const char* f = "%.4g") { return format_number(v, f); };

// The last epoch's eval embeddings projected on their two principal axes.
bool pca_scatter(const MarginRun& r, plot::ScatterPlot& out) {
  const std::string dir = r.dir + "/eval/epoch_" + std::to_string(r.epochs_done);
  std::ifstream emb(dir + "/embeddings.tsv"), lab(dir + "/labels.tsv");
  if (!emb || !lab) return false;
  std::vector<std::vector<float>> rows;
  std::string line;
  while (std::getline(emb, line)) {
    std::vector<float> row;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, '\t')) row.push_back(std::strtof(cell.c_str(), nullptr));
    if (!row.empty()) rows.push_back(std::move(row));
  }
  if (rows.size() < 3) return false;
  const std::int64_t n = rows.size(), d = rows[0].size();
  torch::Tensor x = torch::empty({n, d}, torch::kFloat64);
  auto a = x.accessor<double, 2>();
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < d; ++j)
      a[i][j] = j < std::int64_t(rows[i].size()) ? rows[i][j] : 0.0;
  x = x - x.mean(0, true);
  const auto [u, s, v] = torch::svd(x);
  const torch::Tensor p = x.mm(v.slice(1, 0, std::min<std::int64_t>(2, v.size(1))));
  std::vector<std::string> names;
  while (std::getline(lab, line)) names.push_back(line);
  out.class_names = r.labels;
  for (std::int64_t i = 0; i < n && i < std::int64_t(names.size()); ++i) {
    const auto it = std::find(r.labels.begin(), r.labels.end(), names[i]);
    out.x.push_back(p[i][0].item<double>());
    out.y.push_back(p.size(1) > 1 ? p[i][1].item<double>() : 0.0);
    out.cls.push_back(it == r.labels.end() ? 0 : int(it - r.labels.begin()));
  }
  const double total = s.pow(2).sum().item<double>();
  out.x_label = "PC1 (" + fmt(100 * s[0].pow(2).item<double>() / total, "%.0f") + "% of variance)";
  out.y_label = s.size(0) > 1 ? "PC2 (" + fmt(100 * s[1].pow(2).item<double>() / total, "%.0f") +
                                    "% of variance)"
                              : "PC2";
  return true;
}

// A curve of every seed, smoothed, then its mean over seeds at each step and
// a band of one standard deviation (seeds > 1). Seeds of one margin log the
// same steps; a seed still training shortens the curve to the common part.
struct SeedCurve {
  std::vector<double> x, mean, lo, hi;
};

SeedCurve seed_curve(const MarginSummary& s, std::vector<double> MarginRun::*steps,
                     std::vector<double> MarginRun::*values, double smoothing) {
  SeedCurve c;
  std::size_t n = std::numeric_limits<std::size_t>::max();
  std::vector<std::vector<double>> ys;
  for (const auto& r : s.runs) {
    ys.push_back(smoothing > 0 ? plot::smooth(r.*values, smoothing) : r.*values);
    n = std::min({n, (r.*steps).size(), ys.back().size()});
  }
  if (ys.empty()) return c;
  c.x.assign((s.runs.front().*steps).begin(), (s.runs.front().*steps).begin() + n);
  for (std::size_t k = 0; k < n; ++k) {
    std::vector<double> at;
    for (const auto& y : ys) at.push_back(y[k]);
    const Interval v = mean_and_std(at);
    c.mean.push_back(v.mean);
    if (v.n >= 2) c.lo.push_back(v.mean - v.std), c.hi.push_back(v.mean + v.std);
  }
  return c;
}

// The title's note on what a curve is, when it is more than one run.
std::string seeds_note(const std::vector<MarginSummary>& margins) {
  int most = 0;
  for (const auto& s : margins) most = std::max(most, s.seeds());
  return most > 1 ? " (mean of " + std::to_string(most) + " seeds, band: ± 1 std)" : "";
}

plot::LinePlot loss_plot(const std::vector<MarginSummary>& margins, const std::vector<double>& only,
                         const std::string& title) {
  plot::LinePlot p;
  p.title = title + seeds_note(margins);
  p.x_label = "step";
  p.y_label = "training triplet loss (smoothed; markers: epoch means)";
  for (const auto& s : margins) {
    if (!only.empty() && std::none_of(only.begin(), only.end(),
                                      [&](double m) { return std::fabs(m - s.margin) < 1e-9; }))
      continue;
    const SeedCurve steps = seed_curve(s, &MarginRun::step, &MarginRun::step_triplet_loss, 0.8);
    const SeedCurve epochs =
        seed_curve(s, &MarginRun::epoch_end_step, &MarginRun::epoch_train_triplet_loss, 0);
    p.series.push_back({"margin " + fmt(s.margin, "%g"), steps.x, steps.mean, epochs.x, epochs.mean,
                        steps.lo, steps.hi});
  }
  return p;
}

// Each metric that is undefined (NaN) for some run, with the reason, per
// margin: "MAP@R, margin 0.3 (2 of 3 seeds): ...".
std::vector<std::string> undefined_metrics(const std::vector<MarginSummary>& margins) {
  struct Why {
    const char* name;
    double MarginRun::*value;
    const char* reason;
  };
  const char* nothing_to_retrieve =
      "no evaluation tile has a tile of its label in another recording (a label with a single "
      "evaluation recording has nothing to retrieve)";
  const Why whys[] = {
      {"P@1", &MarginRun::precision_at_1, nothing_to_retrieve},
      {"MAP@R", &MarginRun::map_at_r, nothing_to_retrieve},
      {"NMI", &MarginRun::nmi, "fewer than two labels, or fewer tiles than labels, evaluated"},
      {"silhouette", &MarginRun::silhouette, "fewer than two labels evaluated"},
      {"centroid_cv", &MarginRun::centroid_cv, "fewer than two labels evaluated"}};
  std::vector<std::string> out;
  for (const Why& w : whys) {
    for (const auto& s : margins) {
      const int n = s.metric(w.value).n;
      if (n == s.seeds()) continue;
      out.push_back(std::string(w.name) + ", margin " + fmt(s.margin, "%g") +
                    (s.seeds() > 1 && n > 0 ? " (" + std::to_string(s.seeds() - n) + " of " +
                                                  std::to_string(s.seeds()) + " seeds)"
                                            : "") +
                    ": " + w.reason);
    }
  }
  return out;
}

// What the report says about the sweep as a whole: its margins and the
// seeds of its best-covered margin.
struct SweepShape {
  std::string margin_list, seed_list;
  int most_seeds = 0;
};

SweepShape sweep_shape(const std::vector<MarginSummary>& margins) {
  SweepShape sh;
  for (const auto& s : margins) {
    sh.margin_list += (sh.margin_list.empty() ? "" : ", ") + fmt(s.margin, "%g");
    if (s.seeds() > sh.most_seeds) {
      sh.most_seeds = s.seeds();
      sh.seed_list.clear();
      for (const auto& r : s.runs)
        sh.seed_list += (sh.seed_list.empty() ? "" : ", ") + std::to_string(r.seed);
    }
  }
  return sh;
}

// The first run's config.json (every run shares it but for margin and
// seed); an empty object when it cannot be read.
nlohmann::json run_config(const std::vector<MarginSummary>& margins) {
  nlohmann::json cfg;
  try {
    cfg =
        nlohmann::json::parse(common::read_file(margins.front().runs.front().dir + "/config.json"));
  } catch (const std::exception&) {
  }
  return cfg;
}

std::string config_value(const nlohmann::json& cfg, const char* k) {
  return cfg.contains(k)
             ? (cfg[k].is_string() ? cfg[k].get<std::string>() : common::dump_json(cfg[k]))
             : std::string("?");
}

void recommendation_section(ReportDocument& doc, const Recommendation& rec,
                            const RecommendationRule& rule) {
  doc.heading(2, "Recommendation");
  doc.open_box();
  doc.paragraph(rec.found ? "Recommended margin: " + fmt(rec.margin, "%g") + "."
                          : std::string("No margin recommended."),
                rec.reason);
  if (!rec.excluded.empty()) doc.list("Excluded:", rec.excluded);
  doc.paragraph("", "Rule: exclude margins above " + fmt(rule.max_satisfiable_margin, "%g") +
                        " (never satisfiable with unit-norm embeddings) and margins whose mean "
                        "final training active fraction is below " +
                        fmt(rule.min_active_fraction, "%g") +
                        "; among the rest take the lowest mean centroid_cv (std/mean of the "
                        "label-centroid distances). With several seeds per margin, every margin "
                        "whose interval (" +
                        kIntervalMethod +
                        ") overlaps the winner's is within noise of it; with one seed, silhouette "
                        "breaks ties within " +
                        fmt(rule.cv_tie_tolerance, "%g") + " and no uncertainty is measured.");
  doc.close_box();
}

// The method's rows beyond the study's table: the objective, pooling,
// head, input normalisation and augmentation (the study's values where a
// run's config predates them).
std::vector<std::pair<std::string, std::string>> method_rows(const nlohmann::json& cfg) {
  const study::Config study;
  auto text = [&](const char* k, const std::string& fallback) {
    return cfg.contains(k) ? config_value(cfg, k) : fallback;
  };
  auto number = [&](const char* k, double fallback) {
    return cfg.contains(k) && cfg[k].is_number() ? cfg[k].get<double>() : fallback;
  };
  const std::string loss = text("loss", study.loss);
  const std::string head = text("projection_head", study.projection_head);
  std::vector<std::string> aug;
  const double mix = number("mixback_probability", 0), gain = number("gain_probability", 0);
  const double tmask = number("time_mask_probability", 0);
  const double fmask = number("freq_mask_probability", 0);
  if (mix > 0)
    aug.push_back("mix-back p " + fmt(mix, "%g") + ", " +
                  fmt(number("mixback_db_min", study.mixback_db_min), "%g") + " to " +
                  fmt(number("mixback_db_max", study.mixback_db_max), "%g") + " dB");
  if (gain > 0)
    aug.push_back("gain p " + fmt(gain, "%g") + ", +-" +
                  fmt(number("gain_db", study.gain_db), "%g") + " dB");
  if (tmask > 0)
    aug.push_back("time mask p " + fmt(tmask, "%g") + ", up to " +
                  fmt(number("time_mask_fraction", study.time_mask_fraction), "%g"));
  if (fmask > 0)
    aug.push_back("frequency mask p " + fmt(fmask, "%g") + ", up to " +
                  fmt(number("freq_mask_fraction", study.freq_mask_fraction), "%g"));
  std::string augmentation;
  for (const auto& a : aug) augmentation += (augmentation.empty() ? "" : "; ") + a;
  return {{"Loss", loss == "nt_xent" ? loss + " (temperature " +
                                           fmt(number("temperature", study.temperature), "%g") + ")"
                                     : loss},
          {"Pooling", text("pooling", study.pooling)},
          {"Projection head",
           head == "mlp" ? head + " (" + text("projection_hidden", "?") + " hidden)" : head},
          {"Input normalisation", text("input_normalisation", study.input_normalisation)},
          {"Augmentation", augmentation.empty() ? "none" : augmentation}};
}

void hyperparameter_section(ReportDocument& doc, const nlohmann::json& cfg, const SweepShape& sh) {
  auto value = [&](const char* k) { return config_value(cfg, k); };
  // Worker counts of 0 follow the machine (common::available_cores()).
  auto workers = [&](const char* k) {
    const std::string v = value(k);
    return v == "0" ? v + " (one per core)" : v;
  };
  const std::vector<std::pair<std::string, std::string>> hyper = {
      {"Dataset", value("dataset")},
      {"Model", value("model") + " (width " + value("model_width") + ")"},
      {"Epochs", value("epochs")},
      {"Batch size", value("batch_size")},
      {"Learning rate", value("learning_rate")},
      {"Margin", "[" + sh.margin_list + "]"},
      {"Embedding dimension", value("embedding_size")},
      {"Prefetch batches", value("prefetch_batches")},
      {"Random selection buffer", value("random_selection_buffer_size")},
      {"Shuffle dataset", value("shuffle_dataset")},
      {"Number of generators", workers("gen_count")},
      {"Number of parallel calls", workers("num_parallel_calls")},
      {"Sample rate", value("sample_rate")},
      {"Sample size", value("sample_size")},
      {"Sample tile size", value("sample_tile_size")},
      {"Sample tile range", value("sample_tile_neighbourhood")},
      {"Convert to mono", value("to_mono")},
      {"Feature extractor", value("feature_extractor")},
      {"Frame length", value("frame_length")},
      {"Frame step", value("frame_step")},
      {"FFT size", value("fft_size")},
      {"Number of Mel bins", value("n_mel_bin")},
      {"Number of MFCC bins", value("n_mfcc_bin")},
      {"Random seed" + std::string(sh.most_seeds > 1 ? "s" : ""), sh.seed_list}};

  doc.heading(2, "Hyperparameters");
  std::vector<std::vector<std::string>> rows;
  for (const auto& [k, v] : hyper) rows.push_back({k, v});
  for (const auto& [k, v] : method_rows(cfg)) rows.push_back({k, v});
  doc.table({"Hyperparameter", "value"}, rows);
}

// The baselines of `sweep --classify`, under the margins' protocol.
void baseline_table(ReportDocument& doc, const std::vector<BaselineSummary>& baselines) {
  if (baselines.empty()) return;
  doc.heading(3, "Baselines");
  const BaselineSummary& b0 = baselines.front();
  doc.paragraph("", "The same probe and protocol (" +
                        (b0.labels_per_class > 0 ? std::to_string(b0.labels_per_class) +
                                                       " labelled recordings per "
                                                       "class, " +
                                                       std::to_string(b0.draws) + " draws"
                                                 : std::string("every train label")) +
                        ") on representations that learned nothing: a margin's macro-F1 means "
                        "something only above them.");
  std::vector<std::vector<std::string>> rows;
  for (const auto& b : baselines)
    rows.push_back({b.name, std::to_string(b.runs), format_interval(b.macro_f1),
                    format_interval(b.tile_map_at_r)});
  doc.table({"baseline", "runs", "macro-F1", "tile MAP@R"}, rows);
}

// One row per run, when a margin has several seeds.
void run_table(ReportDocument& doc, const std::vector<MarginSummary>& margins) {
  doc.heading(3, "Every run");
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : margins) {
    for (const auto& r : s.runs) {
      rows.push_back({fmt(r.margin, "%g"), std::to_string(r.seed), std::to_string(r.epochs_done),
                      fmt(r.train_triplet_loss), fmt(r.active_fraction, "%.3f"),
                      fmt(r.silhouette, "%.3f"), fmt(r.centroid_cv, "%.3f"),
                      fmt(r.map_at_r, "%.3f"),
                      std::isfinite(r.classify_macro_f1) ? fmt(r.classify_macro_f1, "%.3f") : "-"});
    }
  }
  doc.table({"margin", "seed", "epochs", "train loss", "active", "silhouette", "centroid_cv",
             "MAP@R", "macro-F1"},
            rows);
}

void summary_section(ReportDocument& doc, const std::vector<MarginSummary>& margins,
                     const std::vector<BaselineSummary>& baselines, const SweepShape& sh) {
  std::vector<std::vector<std::string>> rows;
  doc.heading(2, "Summary");
  doc.paragraph("", sh.most_seeds > 1 ? "Each cell: the mean over seeds ± the half-width of its " +
                                            std::string(kIntervalMethod) +
                                            ". An empty cell: undefined for every seed."
                                      : "One seed per margin: each cell is a single run's value; "
                                        "no uncertainty was measured.");
  for (const auto& s : margins) {
    auto cell = [&](double MarginRun::*m, const char* f) {
      return format_interval(s.metric(m), f);
    };
    std::string f1 = cell(&MarginRun::classify_macro_f1, "%.3f");
    const int k = s.runs.front().classify_labels_per_class;
    if (!f1.empty() && k > 0) f1 += " (" + std::to_string(k) + " labels/class)";
    rows.push_back(
        {fmt(s.margin, "%g"), std::to_string(s.seeds()),
         std::to_string(s.epochs_done()) + (s.complete() ? "" : " (incomplete)"),
         cell(&MarginRun::train_triplet_loss, "%.4g"), cell(&MarginRun::eval_triplet_loss, "%.4g"),
         cell(&MarginRun::active_fraction, "%.3f"), cell(&MarginRun::eval_active_fraction, "%.3f"),
         cell(&MarginRun::dist_neighbour, "%.4g"), cell(&MarginRun::dist_opposite, "%.4g"),
         cell(&MarginRun::silhouette, "%.3f"), cell(&MarginRun::centroid_cv, "%.3f"),
         cell(&MarginRun::mean_centroid_distance, "%.4g"), cell(&MarginRun::precision_at_1, "%.3f"),
         cell(&MarginRun::map_at_r, "%.3f"), cell(&MarginRun::nmi, "%.3f"), f1.empty() ? "-" : f1});
  }
  doc.table({"margin", "seeds", "epochs", "train loss", "eval loss", "active", "eval active",
             "d(a,n)", "d(a,o)", "silhouette", "centroid_cv", "mean centroid dist.", "P@1", "MAP@R",
             "NMI", "macro-F1"},
            rows);
  baseline_table(doc, baselines);
  const std::vector<std::string> undefined = undefined_metrics(margins);
  if (!undefined.empty()) doc.list("Empty cells are undefined metrics, not zeros:", undefined);
  if (sh.most_seeds > 1) run_table(doc, margins);
}

void figures_section(ReportDocument& doc, const std::string& dir,
                     const std::vector<MarginSummary>& margins, const SweepShape& sh) {
  doc.heading(2, "Figures");
  const std::string seeds_caption = sh.most_seeds > 1 ? " (mean over seeds, band: ± 1 std)" : "";
  std::vector<std::pair<std::string, std::string>> figs = {
      {"loss_all_margins", "Figure 1: training triplet loss of every margin" + seeds_caption},
      {"loss_selected", "Figure 2: training triplet loss of the close margins" + seeds_caption},
      {"centroid_cv",
       "centroid_cv per margin" + std::string(sh.most_seeds > 1
                                                  ? " with its " + std::string(kIntervalMethod)
                                                  : " (one seed: no interval)")},
      {"active_fraction", "Fraction of active triplets (loss > 0) per step" + seeds_caption}};
  for (const auto& s : margins) {
    const std::string m = fmt(s.margin, "%g");
    figs.push_back(
        {"centroid_distances_margin_" + m, "Figure 3: label-centroid distance matrix, margin " + m +
                                               (s.seeds() > 1 ? " (mean over seeds)" : "")});
  }
  for (const auto& s : margins) {
    const std::string m = fmt(s.margin, "%g");
    figs.push_back(
        {"embedding_margin_" + m, "Eval embeddings on their two principal axes, margin " + m});
  }
  for (const auto& [name, caption] : figs) {
    const std::string png = dir + "/figures/" + name + ".png";
    if (fs::exists(png)) doc.figure("figures/" + name + ".png", common::read_file(png), caption);
  }
}

void centroid_section(ReportDocument& doc, const std::vector<MarginSummary>& margins) {
  doc.heading(2, "Centroid distance matrices");
  for (const auto& s : margins) {
    doc.heading(3, "margin " + fmt(s.margin, "%g") +
                       (s.seeds() > 1 ? " (mean of " + std::to_string(s.seeds()) + " seeds)" : ""));
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < s.mean_centroids.size() && i < s.labels.size(); ++i) {
      rows.push_back({s.labels[i]});
      for (double v : s.mean_centroids[i]) rows.back().push_back(fmt(v, "%.3f"));
    }
    std::vector<std::string> header = {""};
    header.insert(header.end(), s.labels.begin(), s.labels.end());
    doc.table(header, rows);
  }
}

void timing_section(ReportDocument& doc, const std::vector<MarginSummary>& margins) {
  std::vector<std::vector<std::string>> rows;
  doc.heading(2, "Timings");
  double total = 0;
  for (const auto& s : margins) {
    total += s.total_seconds();
    rows.push_back({fmt(s.margin, "%g"), std::to_string(s.seeds()), fmt(s.total_seconds(), "%.1f"),
                    fmt(s.metric(&MarginRun::triplets_per_second).mean, "%.1f")});
  }
  doc.table({"margin", "seeds", "seconds (all seeds)", "triplets/s (mean)"}, rows);
  doc.paragraph("", "Total training time: " + fmt(total, "%.1f") + " s.");
}

}  // namespace

void make_figures(const std::string& dir, const std::vector<MarginSummary>& margins,
                  const ReportOptions& o) {
  const std::string fig = dir + "/figures/";
  plot::draw_lines(loss_plot(margins, {}, "Triplet loss of every margin"),
                   fig + "loss_all_margins");
  plot::LinePlot sel = loss_plot(
      margins, o.focus, "Triplet loss of the margins " + [&] {
        std::string s;
        for (double m : o.focus) s += (s.empty() ? "" : ", ") + fmt(m, "%g");
        return s;
      }());
  if (!sel.series.empty()) plot::draw_lines(sel, fig + "loss_selected");
  plot::LinePlot af;
  af.title = "Fraction of active triplets (loss > 0)" + seeds_note(margins);
  af.x_label = "step";
  af.y_label = "active fraction (smoothed)";
  for (const auto& s : margins) {
    const SeedCurve c = seed_curve(s, &MarginRun::step, &MarginRun::step_active_fraction, 0.8);
    af.series.push_back({"margin " + fmt(s.margin, "%g"), c.x, c.mean, {}, {}, c.lo, c.hi});
  }
  plot::draw_lines(af, fig + "active_fraction");
  plot::IntervalPlot cv;
  cv.title = "Label-centroid spread per margin (bars: 95% t interval over seeds)";
  cv.x_label = "margin";
  cv.y_label = "centroid_cv (lower: more even)";
  for (const auto& s : margins) {
    const Interval v = s.metric(&MarginRun::centroid_cv);
    cv.categories.push_back(fmt(s.margin, "%g"));
    cv.value.push_back(v.mean);
    cv.lo.push_back(v.lo);
    cv.hi.push_back(v.hi);
  }
  plot::draw_intervals(cv, fig + "centroid_cv");
  for (const auto& s : margins) {
    const std::string m = fmt(s.margin, "%g");
    if (!s.mean_centroids.empty()) {
      const std::string seeds =
          s.seeds() > 1 ? "mean of " + std::to_string(s.seeds()) + " seeds; " : "";
      plot::draw_heatmap({"Label-centroid distances, margin " + m + " (" + seeds + "centroid_cv " +
                              format_interval(s.metric(&MarginRun::centroid_cv)) + ")",
                          s.labels, s.mean_centroids},
                         fig + "centroid_distances_margin_" + m);
    }
    plot::ScatterPlot sp;
    sp.title = "Eval embeddings (PCA), margin " + m +
               (s.seeds() > 1 ? ", seed " + std::to_string(s.runs.front().seed) : "");
    if (pca_scatter(s.runs.front(), sp)) plot::draw_scatter(sp, fig + "embedding_margin_" + m);
  }
}

Recommendation build_report(const std::string& dir, const ReportOptions& o) {
  const std::vector<MarginSummary> margins = read_sweep(dir);
  make_figures(dir, margins, o);
  const Recommendation rec = recommend(margins, o.rule);
  const std::vector<BaselineSummary> baselines = read_baselines(dir);
  write_summary(dir, margins, baselines, rec, o.rule);

  const nlohmann::json cfg = run_config(margins);
  const SweepShape shape = sweep_shape(margins);
  ReportDocument doc("Margin experiment: " + config_value(cfg, "experiment_name"));
  recommendation_section(doc, rec, o.rule);
  hyperparameter_section(doc, cfg, shape);
  summary_section(doc, margins, baselines, shape);
  figures_section(doc, dir, margins, shape);
  centroid_section(doc, margins);
  timing_section(doc, margins);
  common::write_file_atomic(dir + "/report.md", doc.markdown());
  common::write_file_atomic(dir + "/report.html", doc.html());
  return rec;
}

}  // namespace tessera::experiment
