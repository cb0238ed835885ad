#include "tessera/eval/tile_index.h"

#include <algorithm>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "tessera/common/atomic_file.h"
#include "tessera/common/npy.h"

namespace tessera::eval {

std::string index_names_path(const std::string& npy_path) {
  const bool ext = npy_path.size() > 4 && npy_path.compare(npy_path.size() - 4, 4, ".npy") == 0;
  return (ext ? npy_path.substr(0, npy_path.size() - 4) : npy_path) + ".tsv";
}

TileIndex read_tile_index(const std::string& npy_path, std::int64_t dim) {
  const common::NpyArray e = common::read_npy(npy_path);
  if (e.shape.size() != 2 || (dim > 0 && std::int64_t(e.shape[1]) != dim)) {
    throw std::invalid_argument("tile index: '" + npy_path + "' is not a [tiles, " +
                                (dim > 0 ? std::to_string(dim) : std::string("dim")) +
                                "] embedding matrix" + (dim > 0 ? " of this model" : ""));
  }
  const std::string names_path = index_names_path(npy_path);
  std::istringstream tsv(common::read_file(names_path));
  std::string line;
  std::getline(tsv, line);
  if (line != kTileIndexHeader) {
    throw std::invalid_argument("tile index: '" + names_path +
                                "' does not list tiles (write the index with embed --tiles)");
  }
  TileIndex index;
  while (std::getline(tsv, line)) {
    const auto tab = line.rfind('\t');
    if (tab == std::string::npos) {
      throw std::invalid_argument("tile index: '" + names_path + "' line " +
                                  std::to_string(index.files.size() + 2) +
                                  ": expected 'file<TAB>tile_start_s'");
    }
    index.files.push_back(line.substr(0, tab));
    index.starts.push_back(line.substr(tab + 1));
  }
  if (index.files.size() != e.shape[0]) {
    throw std::invalid_argument("tile index: '" + names_path + "' names " +
                                std::to_string(index.files.size()) + " tiles, '" + npy_path +
                                "' holds " + std::to_string(e.shape[0]));
  }
  index.vectors = torch::from_blob(const_cast<float*>(e.data.data()),
                                   {std::int64_t(e.shape[0]), std::int64_t(e.shape[1])})
                      .clone();
  return index;
}

std::vector<Neighbour> nearest_tiles(const torch::Tensor& vectors, const torch::Tensor& query,
                                     std::int64_t k) {
  if (vectors.dim() != 2 || query.dim() != 1 || vectors.size(1) != query.size(0)) {
    throw std::invalid_argument("nearest_tiles: expected vectors [n, dim] and a query [dim]");
  }
  if (k <= 0) throw std::invalid_argument("nearest_tiles: k must be > 0");
  const std::int64_t n = vectors.size(0);
  // All squared distances in one tensor expression, in double so that the
  // order does not hinge on float rounding of nearly equal distances.
  const torch::Tensor d =
      (vectors.to(torch::kFloat64) - query.to(torch::kFloat64)).pow(2).sum(1).contiguous();
  const double* dist = d.data_ptr<double>();
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const std::int64_t keep = std::min(k, n);
  std::partial_sort(order.begin(), order.begin() + keep, order.end(),
                    [dist](std::int64_t a, std::int64_t b) {
                      return dist[a] < dist[b] || (dist[a] == dist[b] && a < b);
                    });
  std::vector<Neighbour> out;
  out.reserve(static_cast<std::size_t>(keep));
  for (std::int64_t i = 0; i < keep; ++i) out.push_back({order[i], dist[order[i]]});
  return out;
}

}  // namespace tessera::eval
