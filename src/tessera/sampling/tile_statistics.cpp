#include "tessera/sampling/tile_statistics.h"

#include <cmath>
#include <stdexcept>
#include <vector>

namespace tessera::sampling {

TileStatistics tile_statistics(const TileStore& store) {
  const std::size_t n = store.geometry().tile_floats();
  std::vector<float> tile(n);
  // Per-tile sums, then Chan et al.'s pairwise merge of (count, mean, M2):
  // stable over millions of values where one running sum of squares is not.
  TileStatistics s;
  double m2 = 0;
  for (std::size_t r = 0; r < store.size(); ++r) {
    for (int t = 0; t < store.tiles(r); ++t) {
      store.copy_tile(r, t, tile.data());
      double sum = 0;
      for (float v : tile) sum += v;
      const double mean = sum / double(n);
      double tile_m2 = 0;
      for (float v : tile) tile_m2 += (v - mean) * (v - mean);
      const double total = double(s.values) + double(n);
      const double delta = mean - s.mean;
      s.mean += delta * double(n) / total;
      m2 += tile_m2 + delta * delta * double(s.values) * double(n) / total;
      s.values += n;
    }
  }
  if (s.values == 0)
    throw std::invalid_argument("input statistics: the training set holds no tile");
  s.std = std::sqrt(m2 / double(s.values));
  if (!(s.std > 0) || !std::isfinite(s.std)) {
    throw std::invalid_argument("input statistics: the training tiles do not vary (std " +
                                std::to_string(s.std) + ")");
  }
  return s;
}

}  // namespace tessera::sampling
