#include "tessera/plot/figures.h"

#include <plplot.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <mutex>
#include <stdexcept>

#include "tessera/common/atomic_file.h"

namespace tessera::plot {
namespace {

std::mutex g_plplot_mutex;  // PLplot keeps global state

// Distinct colours for up to 12 series (Tableau-like), indices into cmap0.
const int kPalette[][3] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                           {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                           {188, 189, 34},  {23, 190, 207}, {0, 0, 0},       {120, 60, 0}};
constexpr int kPaletteSize = 12;
constexpr int kFirstSeriesColour = 3;  // cmap0 0..2 are background, black, grid grey
// The same palette, translucent, for bands behind the lines.
constexpr int kFirstBandColour = kFirstSeriesColour + kPaletteSize;
constexpr double kBandAlpha = 0.22;

// One PLplot stream writing one file; ends the stream on destruction.
class Stream {
 public:
  Stream(const std::string& device, const std::string& file, int width, int height) {
    plsdev(device.c_str());
    plsfnam(file.c_str());
    plspage(0, 0, width, height, 0, 0);
    plscmap0n(kFirstBandColour + kPaletteSize);
    plscolbg(255, 255, 255);
    plscol0(1, 0, 0, 0);
    plscol0(2, 200, 200, 200);
    for (int i = 0; i < kPaletteSize; ++i) {
      plscol0(kFirstSeriesColour + i, kPalette[i][0], kPalette[i][1], kPalette[i][2]);
      plscol0a(kFirstBandColour + i, kPalette[i][0], kPalette[i][1], kPalette[i][2], kBandAlpha);
    }
    plinit();
    plfontld(1);
  }
  ~Stream() { plend(); }
};

void check_writable(const std::string& base) {
  const std::filesystem::path dir = std::filesystem::path(base).parent_path();
  if (!dir.empty()) common::make_dirs(dir.string());
}

// Renders twice (PNG and SVG), each to a temporary file renamed into place.
template <typename Draw>
void render(const std::string& base, int width, int height, Draw draw) {
  check_writable(base);
  std::lock_guard<std::mutex> lock(g_plplot_mutex);
  for (const char* ext : {"png", "svg"}) {
    const std::string tmp = base + ".tmp." + ext;
    {
      Stream s(std::string(ext) + "cairo", tmp, width, height);
      draw();
    }
    if (!std::filesystem::exists(tmp) || std::filesystem::file_size(tmp) == 0) {
      throw std::runtime_error("figure: PLplot wrote nothing to '" + tmp + "'");
    }
    std::filesystem::rename(tmp, base + "." + ext);
  }
}

std::pair<double, double> padded_range(double lo, double hi) {
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const double pad = 0.05 * (hi - lo);
  return {lo - pad, hi + pad};
}

// `owner` names what is malformed: "figure 'loss'", "series 'margin 1'".
std::invalid_argument malformed(const std::string& owner, const std::string& problem) {
  return std::invalid_argument(owner + ": " + problem);
}

std::string figure(const std::string& title) {
  return "figure '" + title + "'";
}

void check_pair(const std::string& owner, const std::string& what, std::size_t a, std::size_t b) {
  if (a != b)
    throw malformed(owner, what + " differ in length (" + std::to_string(a) + " against " +
                               std::to_string(b) + ")");
}

}  // namespace

void Series::validate() const {
  const std::string owner = "series '" + name + "'";
  check_pair(owner, "x and y", x.size(), y.size());
  check_pair(owner, "marker_x and marker_y", marker_x.size(), marker_y.size());
  if (!band_lo.empty() || !band_hi.empty()) {
    check_pair(owner, "x and band_lo", x.size(), band_lo.size());
    check_pair(owner, "x and band_hi", x.size(), band_hi.size());
  }
}

void LinePlot::validate() const {
  for (const auto& s : series) {
    try {
      s.validate();
    } catch (const std::invalid_argument& e) {
      throw malformed(figure(title), e.what());
    }
  }
}

void Heatmap::validate() const {
  check_pair(figure(title), "rows and labels", values.size(), labels.size());
  for (const auto& row : values)
    check_pair(figure(title), "a row and the labels", row.size(), labels.size());
}

void ScatterPlot::validate() const {
  check_pair(figure(title), "x and y", x.size(), y.size());
  check_pair(figure(title), "x and cls", x.size(), cls.size());
  for (int c : cls) {
    if (c < 0 || std::size_t(c) >= class_names.size())
      throw malformed(figure(title), "class " + std::to_string(c) + " has no name (" +
                                         std::to_string(class_names.size()) + " names)");
  }
}

void IntervalPlot::validate() const {
  check_pair(figure(title), "categories and values", categories.size(), value.size());
  check_pair(figure(title), "categories and lower bounds", categories.size(), lo.size());
  check_pair(figure(title), "categories and upper bounds", categories.size(), hi.size());
}

std::vector<double> smooth(const std::vector<double>& y, double weight) {
  if (!(weight >= 0 && weight < 1))
    throw std::invalid_argument("smooth: the weight must lie in [0, 1), not " +
                                std::to_string(weight));
  std::vector<double> out(y.size());
  double last = y.empty() ? 0 : y[0];
  for (std::size_t i = 0; i < y.size(); ++i) out[i] = last = weight * last + (1 - weight) * y[i];
  return out;
}

void draw_lines(const LinePlot& p, const std::string& base) {
  p.validate();
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  auto tr = [&](double v) { return p.log_y ? std::log10(std::max(v, 1e-6)) : v; };
  for (const auto& s : p.series) {
    for (double v : s.x) x0 = std::min(x0, v), x1 = std::max(x1, v);
    for (double v : s.y) y0 = std::min(y0, tr(v)), y1 = std::max(y1, tr(v));
    for (double v : s.marker_y) y0 = std::min(y0, tr(v)), y1 = std::max(y1, tr(v));
    for (double v : s.band_lo) y0 = std::min(y0, tr(v));
    for (double v : s.band_hi) y1 = std::max(y1, tr(v));
  }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  const auto [ya, yb] = padded_range(y0, y1);
  render(base, 1000, 650, [&] {
    pladv(0);
    plvpor(0.11, 0.74, 0.11, 0.92);
    plwind(x0, x1 > x0 ? x1 : x0 + 1, ya, yb);
    plcol0(2);
    plbox("g", 0, 0, "g", 0, 0);
    plcol0(1);
    plbox("bcnst", 0, 0, p.log_y ? "bcnstvl" : "bcnstv", 0, 0);
    pllab(p.x_label.c_str(), p.y_label.c_str(), p.title.c_str());
    const int n = int(p.series.size());
    // Bands first, so that every line stays on top of every band.
    for (int i = 0; i < n; ++i) {
      const Series& s = p.series[i];
      const std::size_t m = std::min({s.x.size(), s.band_lo.size(), s.band_hi.size()});
      if (m < 2) continue;
      std::vector<PLFLT> xs, ys;
      for (std::size_t k = 0; k < m; ++k) xs.push_back(s.x[k]), ys.push_back(tr(s.band_hi[k]));
      for (std::size_t k = m; k-- > 0;) xs.push_back(s.x[k]), ys.push_back(tr(s.band_lo[k]));
      plcol0(kFirstBandColour + i % kPaletteSize);
      plfill(PLINT(xs.size()), xs.data(), ys.data());
    }
    std::vector<PLINT> opt(n, PL_LEGEND_LINE | PL_LEGEND_SYMBOL), colours(n), styles(n, 1),
        sym_n(n, 1);
    std::vector<PLFLT> widths(n, 2.0), sym_scales(n, 1.0);
    std::vector<const char*> texts(n), symbols(n, "#(728)");
    for (int i = 0; i < n; ++i) {
      const Series& s = p.series[i];
      colours[i] = kFirstSeriesColour + i % kPaletteSize;
      plcol0(colours[i]);
      plwidth(2.0);
      std::vector<PLFLT> y(s.y.size());
      for (std::size_t k = 0; k < y.size(); ++k) y[k] = tr(s.y[k]);
      if (!y.empty()) plline(PLINT(y.size()), s.x.data(), y.data());
      std::vector<PLFLT> my(s.marker_y.size());
      for (std::size_t k = 0; k < my.size(); ++k) my[k] = tr(s.marker_y[k]);
      if (!my.empty()) plstring(PLINT(my.size()), s.marker_x.data(), my.data(), "#(728)");
      texts[i] = s.name.c_str();
    }
    plwidth(1.0);
    PLFLT lw, lh;
    pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_OUTSIDE | PL_POSITION_RIGHT, 0.02, 0.0, 0.06, 0, 1, 1, 0, 0, n, opt.data(),
             1.0, 0.9, 1.8, 0.0, colours.data(), texts.data(), nullptr, nullptr, nullptr, nullptr,
             colours.data(), styles.data(), widths.data(), colours.data(), sym_scales.data(),
             sym_n.data(), symbols.data());
  });
}

void draw_intervals(const IntervalPlot& p, const std::string& base) {
  p.validate();
  const int n = int(p.categories.size());
  double y0 = std::numeric_limits<double>::infinity(), y1 = -y0;
  for (int i = 0; i < n; ++i) {
    for (double v : {p.value[i], p.lo[i], p.hi[i]})
      if (std::isfinite(v)) y0 = std::min(y0, v), y1 = std::max(y1, v);
  }
  if (!std::isfinite(y0)) y0 = 0, y1 = 1;
  const auto [ya, yb] = padded_range(y0, y1);
  render(base, 900, 600, [&] {
    pladv(0);
    plvpor(0.12, 0.95, 0.13, 0.9);
    plwind(-0.5, n - 0.5, ya, yb);
    plcol0(2);
    plbox("", 0, 0, "g", 0, 0);
    plcol0(1);
    plbox("bc", 0, 0, "bcnstv", 0, 0);
    pllab(p.x_label.c_str(), p.y_label.c_str(), p.title.c_str());
    for (int i = 0; i < n; ++i) {
      plcol0(1);
      plmtex("b", 1.5, (i + 0.5) / n, 0.5, p.categories[i].c_str());
      plcol0(kFirstSeriesColour + i % kPaletteSize);
      plwidth(2.0);
      PLFLT x = i, v = p.value[i], lo = p.lo[i], hi = p.hi[i];
      if (std::isfinite(lo) && std::isfinite(hi)) plerry(1, &x, &lo, &hi);
      if (std::isfinite(v)) plstring(1, &x, &v, "#(728)");
    }
    plwidth(1.0);
  });
}

void draw_heatmap(const Heatmap& m, const std::string& base) {
  m.validate();
  const int k = int(m.labels.size());
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j)
      if (i != j && std::isfinite(m.values[i][j]))
        lo = std::min(lo, m.values[i][j]), hi = std::max(hi, m.values[i][j]);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (!(hi > lo)) hi = lo + 1e-9;
  render(base, 900, 800, [&] {
    pladv(0);
    plvpor(0.22, 0.92, 0.22, 0.90);
    plwind(0, k, 0, k);
    // cmap1: white (small distances) to a dark blue (large).
    PLFLT pos[2] = {0, 1}, r[2] = {1.0, 0.03}, g[2] = {1.0, 0.19}, b[2] = {1.0, 0.42};
    plscmap1l(1, 2, pos, r, g, b, nullptr);
    for (int i = 0; i < k; ++i) {
      for (int j = 0; j < k; ++j) {
        // Row i is drawn top-down, so the matrix reads as printed.
        const double v = m.values[i][j];
        PLFLT xs[4] = {PLFLT(j), PLFLT(j + 1), PLFLT(j + 1), PLFLT(j)};
        PLFLT ys[4] = {PLFLT(k - i - 1), PLFLT(k - i - 1), PLFLT(k - i), PLFLT(k - i)};
        const double t = std::isfinite(v) ? std::clamp((v - lo) / (hi - lo), 0.0, 1.0) : 0.0;
        if (i != j && std::isfinite(v)) {
          plcol1(t);
          plfill(4, xs, ys);
        }
        char text[32];
        std::snprintf(text, sizeof text, std::isfinite(v) ? "%.2f" : "-", v);
        plcol0(t > 0.55 ? 0 : 1);
        plschr(0, k > 12 ? 0.6 : 0.85);
        plptex(j + 0.5, k - i - 0.5, 1, 0, 0.5, text);
      }
    }
    plschr(0, 0.8);
    plcol0(1);
    plbox("bc", 0, 0, "bc", 0, 0);
    for (int i = 0; i < k; ++i) {
      const double at = (i + 0.5) / k;
      plmtex("bv", 0.8, at, 1.0, m.labels[i].c_str());        // columns, vertical text
      plmtex("lv", 0.8, 1.0 - at, 1.0, m.labels[i].c_str());  // rows
    }
    plschr(0, 1.0);
    plmtex("t", 1.5, 0.5, 0.5, m.title.c_str());
  });
}

void draw_scatter(const ScatterPlot& p, const std::string& base) {
  p.validate();
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (std::size_t i = 0; i < p.x.size(); ++i) {
    x0 = std::min(x0, p.x[i]), x1 = std::max(x1, p.x[i]);
    y0 = std::min(y0, p.y[i]), y1 = std::max(y1, p.y[i]);
  }
  if (!std::isfinite(x0)) x0 = y0 = 0, x1 = y1 = 1;
  const auto [xa, xb] = padded_range(x0, x1);
  const auto [ya, yb] = padded_range(y0, y1);
  render(base, 1000, 750, [&] {
    pladv(0);
    plvpor(0.11, 0.70, 0.1, 0.92);
    plwind(xa, xb, ya, yb);
    plcol0(2);
    plbox("g", 0, 0, "g", 0, 0);
    plcol0(1);
    plbox("bcnst", 0, 0, "bcnstv", 0, 0);
    pllab(p.x_label.c_str(), p.y_label.c_str(), p.title.c_str());
    const int n = int(p.class_names.size());
    std::vector<PLINT> opt(n, PL_LEGEND_SYMBOL), colours(n), sym_n(n, 1);
    std::vector<PLFLT> sym_scales(n, 1.2);
    std::vector<const char*> texts(n), symbols(n, "#(727)");
    for (int c = 0; c < n; ++c) {
      colours[c] = kFirstSeriesColour + c % kPaletteSize;
      std::vector<PLFLT> xs, ys;
      for (std::size_t i = 0; i < p.x.size(); ++i) {
        if (p.cls[i] == c) xs.push_back(p.x[i]), ys.push_back(p.y[i]);
      }
      plcol0(colours[c]);
      if (!xs.empty()) plstring(PLINT(xs.size()), xs.data(), ys.data(), "#(727)");
      texts[c] = p.class_names[c].c_str();
    }
    PLFLT lw, lh;
    pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_OUTSIDE | PL_POSITION_RIGHT, 0.02, 0.0, 0.06, 0, 1, 1, 0, 0, n, opt.data(),
             1.0, 0.9, 1.8, 0.0, colours.data(), texts.data(), nullptr, nullptr, nullptr, nullptr,
             nullptr, nullptr, nullptr, colours.data(), sym_scales.data(), sym_n.data(),
             symbols.data());
  });
}

}  // namespace tessera::plot
