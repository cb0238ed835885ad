// PNG encoding read back by hand from the PNG specification: the signature,
// IHDR's fields, each chunk's CRC-32, and the pixels after zlib inflates
// IDAT (filter byte 0 on each row); the heat map's size and colour scale.
#include "tessera/tensorboard/png.h"

#include <zlib.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessera::tensorboard {
namespace {

std::uint32_t be32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

struct Decoded {
  int width = 0, height = 0, depth = 0, colour = 0;
  std::vector<std::uint8_t> rgb;
};

Decoded decode(const std::string& png) {
  Decoded d;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::string idat;
  std::size_t at = 8;
  std::vector<std::string> types;
  while (at + 12 <= png.size()) {
    const std::uint32_t n = be32(png, at);
    const std::string type = png.substr(at + 4, 4), data = png.substr(at + 8, n);
    const std::string body = png.substr(at + 4, 4 + n);
    EXPECT_EQ(
        be32(png, at + 8 + n),
        std::uint32_t(::crc32(0L, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()))))
        << type;
    types.push_back(type);
    if (type == "IHDR") {
      d.width = int(be32(data, 0));
      d.height = int(be32(data, 4));
      d.depth = static_cast<unsigned char>(data[8]);
      d.colour = static_cast<unsigned char>(data[9]);
    } else if (type == "IDAT") {
      idat += data;
    }
    at += 12 + n;
  }
  EXPECT_EQ(at, png.size());
  EXPECT_EQ(types, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
  std::vector<std::uint8_t> raw(std::size_t(d.width * 3 + 1) * d.height);
  uLongf size = uLongf(raw.size());
  EXPECT_EQ(::uncompress(raw.data(), &size, reinterpret_cast<const Bytef*>(idat.data()),
                         uLong(idat.size())),
            Z_OK);
  EXPECT_EQ(size, raw.size());
  for (int y = 0; y < d.height; ++y) {
    EXPECT_EQ(raw[std::size_t(y) * (d.width * 3 + 1)], 0) << "filter of row " << y;
    const auto* row = &raw[std::size_t(y) * (d.width * 3 + 1) + 1];
    d.rgb.insert(d.rgb.end(), row, row + d.width * 3);
  }
  return d;
}

TEST(PngTest, EncodesRgbPixelsExactly) {
  const int w = 5, h = 3;
  std::vector<std::uint8_t> rgb(w * h * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = std::uint8_t(i * 37 % 256);
  const Decoded d = decode(encode_png_rgb(rgb, w, h));
  EXPECT_EQ(d.width, w);
  EXPECT_EQ(d.height, h);
  EXPECT_EQ(d.depth, 8);
  EXPECT_EQ(d.colour, 2);  // RGB
  EXPECT_EQ(d.rgb, rgb);
  EXPECT_THROW(encode_png_rgb(rgb, w, h + 1), std::invalid_argument);
}

// Cells of cell_pixels squares; 0 is viridis' dark blue (68, 1, 84), the
// largest value its yellow (253, 231, 37), NaN grey.
TEST(PngTest, HeatMapScalesFromZeroToTheLargestValue) {
  const Image im = heat_map({0.0, 2.0, std::nan(""), 1.0}, 2, 2, 4);
  EXPECT_EQ(im.width, 8);
  EXPECT_EQ(im.height, 8);
  const Decoded d = decode(im.png);
  auto pixel = [&](int x, int y) {
    const std::size_t at = (std::size_t(y) * d.width + x) * 3;
    return std::vector<int>{d.rgb[at], d.rgb[at + 1], d.rgb[at + 2]};
  };
  EXPECT_EQ(pixel(0, 0), (std::vector<int>{68, 1, 84}));
  EXPECT_EQ(pixel(3, 3), (std::vector<int>{68, 1, 84}));
  EXPECT_EQ(pixel(4, 0), (std::vector<int>{253, 231, 37}));
  EXPECT_EQ(pixel(7, 3), (std::vector<int>{253, 231, 37}));
  EXPECT_EQ(pixel(0, 4), (std::vector<int>{128, 128, 128}));
  EXPECT_EQ(pixel(4, 4), (std::vector<int>{33, 144, 141}));  // 1.0 of 2.0: the middle
  EXPECT_THROW(heat_map({1, 2, 3}, 2, 2, 4), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::tensorboard
