#include "tessera/train/run_data.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "tessera/common/log.h"
#include "tessera/common/threads.h"
#include "tessera/data/dataset_loader.h"

namespace tessera::train {

std::string resolve_cache_dir(const common::Config& c, const std::string& run_dir) {
  if (!c.cache_dir.empty()) return c.cache_dir;
  return (std::filesystem::path(run_dir) / "cache").string();
}

int feature_threads(const common::Config& c, int threads) {
  return std::min(threads * 2, common::resolve_threads(c.num_parallel_calls));
}

RunData RunData::load(const common::Config& c, const std::string& run_dir, int threads,
                      bool with_test) {
  RunData d;
  d.dataset = data::load_dataset(c, (std::filesystem::path(run_dir) / "split.json").string());
  d.cache = std::make_unique<features::FeatureCache>(resolve_cache_dir(c, run_dir),
                                                     audio::AudioOptions::from_config(c),
                                                     features::FeatureOptions::from_config(c));
  d.geometry = sampling::TileGeometry::from_config(c);
  // Two tiles are the least that gives an anchor a neighbour.
  d.train = std::make_unique<sampling::TileStore>(
      sampling::TileStore::build(d.dataset.train.recordings, *d.cache, d.geometry, threads, 2,
                                 d.dataset.skipped, "features train"));
  d.eval = std::make_unique<sampling::TileStore>(
      sampling::TileStore::build(d.dataset.eval.recordings, *d.cache, d.geometry, threads, 2,
                                 d.dataset.skipped, "features eval"));
  if (with_test) {
    d.test = std::make_unique<sampling::TileStore>(
        sampling::TileStore::build(d.dataset.test.recordings, *d.cache, d.geometry, threads, 1,
                                   d.dataset.skipped, "features test"));
  }
  if (d.dataset.skipped.count()) common::log_warning(d.dataset.skipped.summary());
  if (d.train->size() < 2) {
    throw std::runtime_error("data: fewer than two usable training recordings (" +
                             std::to_string(d.dataset.train.recordings.size()) + " listed; " +
                             d.dataset.skipped.summary() + ")");
  }
  return d;
}

}  // namespace tessera::train
