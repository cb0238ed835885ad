// The sweep's figures, drawn with PLplot's cairo driver. Each figure is
// written as <base>.png and <base>.svg (through temporary files and a
// rename), with labelled axes and a legend.
#pragma once

#include <string>
#include <vector>

namespace tessera::plot {

struct Series {
  std::string name;
  std::vector<double> x, y;
  // Optional markers drawn on the line (e.g. the per-epoch means).
  std::vector<double> marker_x, marker_y;
  // Optional band around the line, at the same x (e.g. mean ± std over seeds),
  // shaded in the series' colour.
  std::vector<double> band_lo, band_hi;
  // x and y, marker_x and marker_y pair up; a band is empty or one pair of
  // bounds per x. Throws std::invalid_argument naming the series.
  void validate() const;
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool log_y = false;
  void validate() const;
};

struct Heatmap {
  std::string title;
  std::vector<std::string> labels;          // rows and columns
  std::vector<std::vector<double>> values;  // square; NaN cells are left blank
  void validate() const;
};

struct ScatterPlot {
  std::string title, x_label, y_label;
  std::vector<std::string> class_names;
  std::vector<double> x, y;
  std::vector<int> cls;  // index into class_names
  void validate() const;
};

// One point per category with its interval as an error bar (e.g. a metric
// per margin over seeds); a NaN interval draws the point alone.
struct IntervalPlot {
  std::string title, x_label, y_label;
  std::vector<std::string> categories;
  std::vector<double> value, lo, hi;  // one per category
  void validate() const;
};

// Each validates its figure first: a malformed one is refused before any
// file is written.
void draw_lines(const LinePlot& plot, const std::string& base);
void draw_intervals(const IntervalPlot& plot, const std::string& base);
void draw_heatmap(const Heatmap& map, const std::string& base);
void draw_scatter(const ScatterPlot& plot, const std::string& base);

// An exponential moving average, as TensorBoard smooths its curves:
// out[0] = y[0], out[i] = weight * out[i-1] + (1 - weight) * y[i], for a
// weight in [0, 1).
std::vector<double> smooth(const std::vector<double>& y, double weight);

}  // namespace tessera::plot
