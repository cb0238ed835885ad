// NumPy .npy files (format version 1.0, little-endian float32, C order), so
// that features and embeddings load with a plain numpy.load().
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace tessera::common {

struct NpyArray {
  std::vector<std::size_t> shape;
  std::vector<float> data;
};

// Writes atomically; throws std::runtime_error naming the file.
void write_npy(const std::string& path, const std::vector<std::size_t>& shape, const float* data);
// Reads a float32 .npy written by numpy or by write_npy.
NpyArray read_npy(const std::string& path);

}  // namespace tessera::common
