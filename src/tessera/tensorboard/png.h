// PNG encoding of 8-bit RGB images (zlib's deflate and CRC-32), for image
// summaries, and a heat map of a matrix as such an image.
//
//   std::string png = tensorboard::encode_png_rgb(rgb, width, height);
//   tensorboard::Image im = tensorboard::heat_map(values, rows, cols, 24);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::tensorboard {

// rgb: height rows of width pixels, 3 bytes each. Throws std::invalid_argument
// on a size that does not match.
std::string encode_png_rgb(const std::vector<std::uint8_t>& rgb, int width, int height);

struct Image {
  int width = 0, height = 0;
  std::string png;
};

// values: rows x cols, row-major. Each cell becomes a cell_pixels square,
// coloured on the viridis scale from 0 (dark blue) to the matrix's largest
// value (yellow); non-finite cells are grey.
Image heat_map(const std::vector<double>& values, int rows, int cols, int cell_pixels);

}  // namespace tessera::tensorboard
