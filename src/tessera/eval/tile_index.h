// A searchable set of tile embeddings: the index files `tessera embed
// --tiles` writes (E.npy and E.tsv beside it) and the exact nearest-tile
// search `tessera neighbours` runs over them or over a run's eval split.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace tessera::eval {

// E.npy's names: E.tsv beside it (E.npy.tsv when the name lacks .npy).
std::string index_names_path(const std::string& npy_path);

// The first line of a tile index's names file; a file-level index (embed
// without --tiles) has "file" alone and cannot be searched by tile.
inline constexpr const char* kTileIndexHeader = "file\ttile_start_s";

struct TileIndex {
  torch::Tensor vectors;            // [tiles, dim] float32
  std::vector<std::string> files;   // per tile
  std::vector<std::string> starts;  // per tile: the tile's start in seconds, as written
};

// Reads E.npy and its names file. Throws std::invalid_argument naming the
// file and the problem: not a 2-D matrix, a width other than `dim` (when
// dim > 0), a names file without the tile header, or a count mismatch.
TileIndex read_tile_index(const std::string& npy_path, std::int64_t dim = 0);

struct Neighbour {
  std::int64_t index = 0;  // row of the searched matrix
  double squared_distance = 0;
};

// The k rows of `vectors` [n, dim] nearest `query` [dim] by squared
// Euclidean distance, nearest first; ties keep the lower row first. Exact:
// every distance is computed. k above n gives all n rows.
std::vector<Neighbour> nearest_tiles(const torch::Tensor& vectors, const torch::Tensor& query,
                                     std::int64_t k);

}  // namespace tessera::eval
