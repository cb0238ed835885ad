#include "tessera/experiment/report.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <torch/torch.h>

#include "tessera/common/atomic_file.h"
#include "tessera/common/format.h"
#include "tessera/common/json_text.h"
#include "tessera/common/log.h"
#include "tessera/experiment/figures.h"

namespace tessera::experiment {
namespace fs = std::filesystem;
namespace {

using common::format_number;
constexpr auto fmt = [](double v, const char* f = "%.4g") { return format_number(v, f); };

std::string base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v =
        (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += k[v & 63];
  }
  if (i < in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    if (i + 1 < in.size()) v |= (unsigned char)in[i + 1] << 8;
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else
      o += c;
  }
  return o;
}

// The last epoch's eval embeddings projected on their two principal axes.
bool pca_scatter(const MarginRun& r, ScatterPlot& plot) {
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
  plot.class_names = r.labels;
  for (std::int64_t i = 0; i < n && i < std::int64_t(names.size()); ++i) {
    const auto it = std::find(r.labels.begin(), r.labels.end(), names[i]);
    plot.x.push_back(p[i][0].item<double>());
    plot.y.push_back(p.size(1) > 1 ? p[i][1].item<double>() : 0.0);
    plot.cls.push_back(it == r.labels.end() ? 0 : int(it - r.labels.begin()));
  }
  const double total = s.pow(2).sum().item<double>();
  plot.x_label = "PC1 (" + fmt(100 * s[0].pow(2).item<double>() / total, "%.0f") + "% of variance)";
  plot.y_label = s.size(0) > 1 ? "PC2 (" + fmt(100 * s[1].pow(2).item<double>() / total, "%.0f") +
                                     "% of variance)"
                               : "PC2";
  return true;
}

LinePlot loss_plot(const std::vector<MarginRun>& runs, const std::vector<double>& only,
                   const std::string& title) {
  LinePlot p;
  p.title = title;
  p.x_label = "step";
  p.y_label = "training triplet loss (smoothed; markers: epoch means)";
  for (const auto& r : runs) {
    if (!only.empty() && std::none_of(only.begin(), only.end(),
                                      [&](double m) { return std::fabs(m - r.margin) < 1e-9; }))
      continue;
    Series s;
    s.name = "margin " + fmt(r.margin, "%g");
    s.x = r.step;
    s.y = smooth(r.step_triplet_loss, 0.8);
    s.marker_x = r.epoch_end_step;
    s.marker_y = r.epoch_train_triplet_loss;
    p.series.push_back(std::move(s));
  }
  return p;
}

std::string figure_md(const std::string& name, const std::string& caption) {
  return "![" + caption + "](figures/" + name + ".png)\n\n*" + caption + "*\n\n";
}

std::string figure_html(const std::string& dir, const std::string& name,
                        const std::string& caption) {
  const std::string png = dir + "/figures/" + name + ".png";
  if (!fs::exists(png)) return "";
  return "<figure><img alt=\"" + html_escape(caption) + "\" src=\"data:image/png;base64," +
         base64(common::read_file(png)) + "\"><figcaption>" + html_escape(caption) +
         "</figcaption></figure>\n";
}

}  // namespace

void make_figures(const std::string& dir, const std::vector<MarginRun>& runs,
                  const ReportOptions& o) {
  const std::string fig = dir + "/figures/";
  draw_lines(loss_plot(runs, {}, "Triplet loss of every margin"), fig + "loss_all_margins");
  LinePlot sel = loss_plot(
      runs, o.focus, "Triplet loss of the margins " + [&] {
        std::string s;
        for (double m : o.focus) s += (s.empty() ? "" : ", ") + fmt(m, "%g");
        return s;
      }());
  if (!sel.series.empty()) draw_lines(sel, fig + "loss_selected");
  LinePlot af;
  af.title = "Fraction of active triplets (loss > 0)";
  af.x_label = "step";
  af.y_label = "active fraction (smoothed)";
  for (const auto& r : runs)
    af.series.push_back(
        {"margin " + fmt(r.margin, "%g"), r.step, smooth(r.step_active_fraction, 0.8), {}, {}});
  draw_lines(af, fig + "active_fraction");
  for (const auto& r : runs) {
    const std::string m = fmt(r.margin, "%g");
    if (!r.centroids.empty()) {
      draw_heatmap({"Label-centroid distances, margin " + m + " (centroid_cv " +
                        fmt(r.centroid_cv, "%.3f") + ")",
                    r.labels, r.centroids},
                   fig + "centroid_distances_margin_" + m);
    }
    ScatterPlot sp;
    sp.title = "Eval embeddings (PCA), margin " + m;
    if (pca_scatter(r, sp)) draw_scatter(sp, fig + "embedding_margin_" + m);
  }
}

Recommendation build_report(const std::string& dir, const ReportOptions& o) {
  const std::vector<MarginRun> runs = read_sweep(dir);
  make_figures(dir, runs, o);
  const Recommendation rec = recommend(runs, o.rule);
  write_summary(dir, runs, rec, o.rule);

  nlohmann::json cfg;
  try {
    cfg = nlohmann::json::parse(common::read_file(runs.front().dir + "/config.json"));
  } catch (const std::exception&) {
  }
  auto value = [&](const char* k) {
    return cfg.contains(k)
               ? (cfg[k].is_string() ? cfg[k].get<std::string>() : common::dump_json(cfg[k]))
               : std::string("?");
  };
  std::string margins;
  for (const auto& r : runs) margins += (margins.empty() ? "" : ", ") + fmt(r.margin, "%g");
  const std::vector<std::pair<std::string, std::string>> hyper = {
      {"Dataset", value("dataset")},
      {"Model", value("model") + " (width " + value("model_width") + ")"},
      {"Epochs", value("epochs")},
      {"Batch size", value("batch_size")},
      {"Learning rate", value("learning_rate")},
      {"Margin", "[" + margins + "]"},
      {"Embedding dimension", value("embedding_size")},
      {"Prefetch batches", value("prefetch_batches")},
      {"Random selection buffer", value("random_selection_buffer_size")},
      {"Shuffle dataset", value("shuffle_dataset")},
      {"Number of generators", value("gen_count")},
      {"Number of parallel calls", value("num_parallel_calls")},
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
      {"Random seed", value("random_seed")}};

  std::string md = "# Margin experiment: " + value("experiment_name") + "\n\n";
  std::string html =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Margin experiment</title><style>"
      "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
      "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px "
      "8px;text-align:right}"
      "th{background:#eee}td:first-child{text-align:left}img{max-width:100%}figure{margin:1.5em 0}"
      ".rec{background:#eef6ee;border-left:4px solid #2a2;padding:.5em "
      "1em}</style></head><body>\n<h1>Margin experiment: " +
      html_escape(value("experiment_name")) + "</h1>\n";

  md += "## Recommendation\n\n";
  html += "<h2>Recommendation</h2><div class=\"rec\">";
  const std::string headline = rec.found ? "**Recommended margin: " + fmt(rec.margin, "%g") + "**. "
                                         : "**No margin recommended.** ";
  md += headline + rec.reason + "\n\n";
  html += "<p><b>" +
          (rec.found ? "Recommended margin: " + fmt(rec.margin, "%g")
                     : std::string("No margin recommended")) +
          "</b>. " + html_escape(rec.reason) + "</p>";
  if (!rec.excluded.empty()) {
    md += "Excluded:\n\n";
    html += "<p>Excluded:</p><ul>";
    for (const auto& e : rec.excluded)
      md += "- " + e + "\n", html += "<li>" + html_escape(e) + "</li>";
    md += "\n";
    html += "</ul>";
  }
  md += "Rule: exclude margins above " + fmt(o.rule.max_satisfiable_margin, "%g") +
        " (never satisfiable with unit-norm embeddings) and margins whose final training active "
        "fraction is below " +
        fmt(o.rule.min_active_fraction, "%g") +
        "; among the rest take the lowest centroid_cv (std/mean of the "
        "label-centroid distances), with silhouette breaking ties within " +
        fmt(o.rule.cv_tie_tolerance, "%g") + ".\n\n";
  html += "</div>\n";

  md += "## Hyperparameters\n\n| Hyperparameter | value |\n|---|---|\n";
  html += "<h2>Hyperparameters</h2><table><tr><th>Hyperparameter</th><th>value</th></tr>";
  for (const auto& [k, v] : hyper)
    md += "| " + k + " | " + v + " |\n",
        html += "<tr><td>" + k + "</td><td>" + html_escape(v) + "</td></tr>";
  md += "\n";
  html += "</table>\n";

  md +=
      "## Summary\n\n| margin | epochs | train loss | eval loss | active | eval active | d(a,n) | "
      "d(a,o) | silhouette | centroid_cv | mean centroid dist. | P@1 | MAP@R | NMI | macro-F1 "
      "|\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  html +=
      "<h2>Summary</h2><table><tr><th>margin</th><th>epochs</th><th>train loss</th><th>eval "
      "loss</th><th>active</th><th>eval "
      "active</th><th>d(a,n)</th><th>d(a,o)</th><th>silhouette</th><th>centroid_cv</th><th>mean "
      "centroid dist.</th><th>P@1</th><th>MAP@R</th><th>NMI</th><th>macro-F1</th></tr>";
  for (const auto& r : runs) {
    std::vector<std::string> cells = {
        fmt(r.margin, "%g"),
        std::to_string(r.epochs_done) + (r.complete ? "" : " (incomplete)"),
        fmt(r.train_triplet_loss),
        fmt(r.eval_triplet_loss),
        fmt(r.active_fraction, "%.3f"),
        fmt(r.eval_active_fraction, "%.3f"),
        fmt(r.dist_neighbour),
        fmt(r.dist_opposite),
        fmt(r.silhouette, "%.3f"),
        fmt(r.centroid_cv, "%.3f"),
        fmt(r.mean_centroid_distance),
        fmt(r.precision_at_1, "%.3f"),
        fmt(r.map_at_r, "%.3f"),
        fmt(r.nmi, "%.3f"),
        std::isfinite(r.classify_macro_f1)
            ? fmt(r.classify_macro_f1, "%.3f") +
                  (r.classify_labels_per_class > 0
                       ? " (" + std::to_string(r.classify_labels_per_class) + " labels/class)"
                       : "")
            : std::string("-")};
    md += "|";
    html += "<tr>";
    for (const auto& c : cells) md += " " + c + " |", html += "<td>" + c + "</td>";
    md += "\n";
    html += "</tr>";
  }
  md += "\n";
  html += "</table>\n";

  md += "## Figures\n\n";
  html += "<h2>Figures</h2>\n";
  std::vector<std::pair<std::string, std::string>> figs = {
      {"loss_all_margins", "Figure 1: training triplet loss of every margin"},
      {"loss_selected", "Figure 2: training triplet loss of the close margins"},
      {"active_fraction", "Fraction of active triplets (loss > 0) per step"}};
  for (const auto& r : runs) {
    const std::string m = fmt(r.margin, "%g");
    figs.push_back({"centroid_distances_margin_" + m,
                    "Figure 3: label-centroid distance matrix, margin " + m});
  }
  for (const auto& r : runs) {
    const std::string m = fmt(r.margin, "%g");
    figs.push_back(
        {"embedding_margin_" + m, "Eval embeddings on their two principal axes, margin " + m});
  }
  for (const auto& [name, caption] : figs) {
    if (!fs::exists(dir + "/figures/" + name + ".png")) continue;
    md += figure_md(name, caption);
    html += figure_html(dir, name, caption);
  }

  md += "## Centroid distance matrices\n\n";
  html += "<h2>Centroid distance matrices</h2>\n";
  for (const auto& r : runs) {
    md += "### margin " + fmt(r.margin, "%g") + "\n\n|  |";
    html += "<h3>margin " + fmt(r.margin, "%g") + "</h3><table><tr><th></th>";
    for (const auto& l : r.labels) md += " " + l + " |", html += "<th>" + html_escape(l) + "</th>";
    md += "\n|---|";
    for (std::size_t i = 0; i < r.labels.size(); ++i) md += "---|";
    md += "\n";
    html += "</tr>";
    for (std::size_t i = 0; i < r.centroids.size() && i < r.labels.size(); ++i) {
      md += "| " + r.labels[i] + " |";
      html += "<tr><td>" + html_escape(r.labels[i]) + "</td>";
      for (double v : r.centroids[i])
        md += " " + fmt(v, "%.3f") + " |", html += "<td>" + fmt(v, "%.3f") + "</td>";
      md += "\n";
      html += "</tr>";
    }
    md += "\n";
    html += "</table>\n";
  }

  md += "## Timings\n\n| margin | seconds | triplets/s |\n|---|---|---|\n";
  html += "<h2>Timings</h2><table><tr><th>margin</th><th>seconds</th><th>triplets/s</th></tr>";
  double total = 0;
  for (const auto& r : runs) {
    total += r.seconds;
    md += "| " + fmt(r.margin, "%g") + " | " + fmt(r.seconds, "%.1f") + " | " +
          fmt(r.triplets_per_second, "%.1f") + " |\n";
    html += "<tr><td>" + fmt(r.margin, "%g") + "</td><td>" + fmt(r.seconds, "%.1f") + "</td><td>" +
            fmt(r.triplets_per_second, "%.1f") + "</td></tr>";
  }
  md += "\nTotal training time: " + fmt(total, "%.1f") + " s.\n";
  html += "</table><p>Total training time: " + fmt(total, "%.1f") + " s.</p></body></html>\n";
  common::write_file_atomic(dir + "/report.md", md);
  common::write_file_atomic(dir + "/report.html", html);
  return rec;
}

}  // namespace tessera::experiment
