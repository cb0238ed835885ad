#include "tessera/tensorboard/png.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace tessera::tensorboard {
namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(char((v >> shift) & 0xFF));
}

// A chunk: length, type, data, CRC-32 of type and data (PNG's own CRC, not
// CRC-32C).
void put_chunk(std::string& out, const char type[4], const std::string& data) {
  put_u32(out, std::uint32_t(data.size()));
  const std::string body = std::string(type, 4) + data;
  out += body;
  put_u32(out, std::uint32_t(
                   ::crc32(0L, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()))));
}

// Viridis at 0, 1/8, ..., 1 (matplotlib's colour map), linearly between.
constexpr std::uint8_t kViridis[9][3] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},
                                         {44, 113, 142}, {33, 144, 141}, {39, 173, 129},
                                         {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};

void viridis(double t, std::uint8_t* rgb) {
  t = std::clamp(t, 0.0, 1.0) * 8;
  const int i = std::min(int(t), 7);
  const double f = t - i;
  for (int c = 0; c < 3; ++c)
    rgb[c] = std::uint8_t(std::lround(kViridis[i][c] + f * (kViridis[i + 1][c] - kViridis[i][c])));
}

}  // namespace

std::string encode_png_rgb(const std::vector<std::uint8_t>& rgb, int width, int height) {
  if (width < 1 || height < 1 || rgb.size() != std::size_t(width) * std::size_t(height) * 3)
    throw std::invalid_argument("png: " + std::to_string(rgb.size()) + " bytes for a " +
                                std::to_string(width) + "x" + std::to_string(height) +
                                " RGB image");
  // Each row starts with its filter type (0: none).
  const std::size_t row = std::size_t(width) * 3;
  std::string raw;
  raw.reserve((row + 1) * std::size_t(height));
  for (int y = 0; y < height; ++y) {
    raw.push_back('\0');
    raw.append(reinterpret_cast<const char*>(rgb.data()) + y * row, row);
  }
  uLongf packed_size = compressBound(uLong(raw.size()));
  std::string packed(packed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
                reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size()), 6) != Z_OK)
    throw std::runtime_error("png: zlib failed to compress the image");
  packed.resize(packed_size);

  std::string out("\x89PNG\r\n\x1a\n", 8);
  std::string header;
  put_u32(header, std::uint32_t(width));
  put_u32(header, std::uint32_t(height));
  header += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bits, RGB, deflate, filters, no interlace
  put_chunk(out, "IHDR", header);
  put_chunk(out, "IDAT", packed);
  put_chunk(out, "IEND", "");
  return out;
}

Image heat_map(const std::vector<double>& values, int rows, int cols, int cell_pixels) {
  if (rows < 1 || cols < 1 || cell_pixels < 1 || values.size() != std::size_t(rows) * cols)
    throw std::invalid_argument("heat map: " + std::to_string(values.size()) + " values for " +
                                std::to_string(rows) + "x" + std::to_string(cols) + " cells");
  double top = 0;
  for (double v : values)
    if (std::isfinite(v)) top = std::max(top, v);
  Image im;
  im.width = cols * cell_pixels;
  im.height = rows * cell_pixels;
  std::vector<std::uint8_t> rgb(std::size_t(im.width) * im.height * 3);
  for (int y = 0; y < im.height; ++y) {
    for (int x = 0; x < im.width; ++x) {
      const double v = values[std::size_t(y / cell_pixels) * cols + x / cell_pixels];
      std::uint8_t* px = &rgb[(std::size_t(y) * im.width + x) * 3];
      if (!std::isfinite(v))
        px[0] = px[1] = px[2] = 128;
      else
        viridis(top > 0 ? v / top : 0, px);
    }
  }
  im.png = encode_png_rgb(rgb, im.width, im.height);
  return im;
}

}  // namespace tessera::tensorboard
