// The sweep's figures: each is a PNG of the stated size and an SVG, written
// whole (no temporaries left), with every series and band drawn in the
// palette's colour; a malformed figure is refused before a file is written.
// Expected colours are the palette's first entries (Tableau's blue and
// orange, as cairo writes them in percent), the PNG size is figures.cpp's
// page size, and smooth() is checked against the EMA worked by hand.
#include "tessera/plot/figures.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace tessera::plot {
namespace {
namespace fs = std::filesystem;

std::string read_binary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The width and height of a PNG, from its IHDR chunk.
std::pair<int, int> png_size(const std::string& png) {
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  auto be32 = [&](std::size_t at) {
    return int((unsigned char)png[at]) << 24 | int((unsigned char)png[at + 1]) << 16 |
           int((unsigned char)png[at + 2]) << 8 | int((unsigned char)png[at + 3]);
  };
  return {be32(16), be32(20)};
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// cairo's SVG colours: rgb(<percent>%,...), six decimals without trailing zeros.
std::string cairo_rgb(int r, int g, int b) {
  auto percent = [](int v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%f", v / 2.55);
    std::string s = buf;
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
    return s + "%";
  };
  return "rgb(" + percent(r) + "," + percent(g) + "," + percent(b) + ")";
}

LinePlot two_series(bool band) {
  LinePlot p;
  p.title = "loss";
  p.x_label = "step";
  p.y_label = "loss";
  Series a{"margin 0.5", {0, 1, 2, 3}, {1.0, 0.8, 0.7, 0.65}, {}, {}, {}, {}};
  Series b{"margin 1", {0, 1, 2, 3}, {1.2, 1.0, 0.9, 0.85}, {}, {}, {}, {}};
  if (band) {
    b.band_lo = {1.1, 0.9, 0.8, 0.8};
    b.band_hi = {1.3, 1.1, 1.0, 0.9};
  }
  p.series = {a, b};
  return p;
}

TEST(FiguresTest, ALinePlotIsAPngAndAnSvgWrittenWhole) {
  const std::string dir = tessera::testing::fresh_dir();
  draw_lines(two_series(false), dir + "/loss");
  EXPECT_EQ(files_in(dir), (std::vector<std::string>{"loss.png", "loss.svg"}));
  EXPECT_EQ(png_size(read_binary(dir + "/loss.png")), std::make_pair(1000, 650));
  const std::string svg = read_binary(dir + "/loss.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("width=\"1000"), std::string::npos);
}

TEST(FiguresTest, EachSeriesHasItsColourAndABandIsTranslucent) {
  const std::string dir = tessera::testing::fresh_dir();
  draw_lines(two_series(false), dir + "/plain");
  draw_lines(two_series(true), dir + "/band");
  const std::string plain = read_binary(dir + "/plain.svg");
  const std::string band = read_binary(dir + "/band.svg");
  const std::string blue = cairo_rgb(31, 119, 180), orange = cairo_rgb(255, 127, 14);
  // Line and legend entry of each series.
  EXPECT_GE(count(plain, "stroke:" + blue), 2u) << plain.substr(0, 4000);
  EXPECT_GE(count(plain, "stroke:" + orange), 2u);
  // The band: one translucent fill (figures.cpp's alpha 0.22) in the
  // second series' colour, only where a band was given.
  const std::string band_fill = "fill:" + orange + ";fill-opacity:0.22";
  EXPECT_EQ(count(plain, band_fill), 0u);
  EXPECT_EQ(count(band, band_fill), 1u) << band.substr(0, 4000);
}

TEST(FiguresTest, TheOtherFiguresHaveTheirSizes) {
  const std::string dir = tessera::testing::fresh_dir();
  draw_heatmap({"centroids", {"a", "b", "c"}, {{0, 1, 2}, {1, 0, NAN}, {2, NAN, 0}}},
               dir + "/heat");
  draw_scatter({"tiles", "x", "y", {"a", "b"}, {0, 1, 2}, {0, 1, 0}, {0, 1, 1}}, dir + "/scatter");
  draw_intervals({"cv", "margin", "centroid_cv", {"0.5", "1"}, {0.4, 0.3}, {0.3, NAN}, {0.5, NAN}},
                 dir + "/cv");
  EXPECT_EQ(png_size(read_binary(dir + "/heat.png")), std::make_pair(900, 800));
  EXPECT_EQ(png_size(read_binary(dir + "/scatter.png")), std::make_pair(1000, 750));
  EXPECT_EQ(png_size(read_binary(dir + "/cv.png")), std::make_pair(900, 600));
  EXPECT_EQ(files_in(dir).size(), 6u);
}

// Mismatched lengths once made PLplot read past the end of a vector; now
// each figure is refused, naming the figure, and nothing is written.
TEST(FiguresTest, AMalformedFigureIsRefusedAndWritesNothing) {
  const std::string dir = tessera::testing::fresh_dir();
  LinePlot lines = two_series(true);
  lines.series[1].y.pop_back();
  EXPECT_THROW(draw_lines(lines, dir + "/a"), std::invalid_argument);
  lines = two_series(true);
  lines.series[1].band_hi.pop_back();
  EXPECT_THROW(draw_lines(lines, dir + "/b"), std::invalid_argument);
  try {
    draw_heatmap({"centroids", {"a", "b"}, {{0, 1}, {1}}}, dir + "/c");
    FAIL() << "a ragged heat map was drawn";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("centroids"), std::string::npos) << e.what();
  }
  EXPECT_THROW(draw_scatter({"t", "x", "y", {"a"}, {0, 1}, {0, 1}, {0, 1}}, dir + "/d"),
               std::invalid_argument);
  EXPECT_THROW(draw_intervals({"cv", "m", "v", {"0.5", "1"}, {0.4}, {0.3}, {0.5}}, dir + "/e"),
               std::invalid_argument);
  EXPECT_TRUE(files_in(dir).empty());
}

TEST(FiguresTest, SmoothIsAnExponentialMovingAverageFromTheFirstValue) {
  const std::vector<double> s = smooth({1, 0, 0, 1}, 0.5);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_DOUBLE_EQ(s[0], 1.0);
  EXPECT_DOUBLE_EQ(s[1], 0.5);
  EXPECT_DOUBLE_EQ(s[2], 0.25);
  EXPECT_DOUBLE_EQ(s[3], 0.625);
  EXPECT_EQ(smooth({2, 3}, 0.0), (std::vector<double>{2, 3}));
  EXPECT_TRUE(smooth({}, 0.6).empty());
  EXPECT_THROW(smooth({1}, 1.0), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::plot
