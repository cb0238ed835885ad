#include "tessera/sampling/tile_store.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tessera/common/progress.h"

namespace tessera::sampling {

TileStore TileStore::build(const std::vector<data::Recording>& recordings,
                           features::FeatureCache& cache, const TileGeometry& geometry, int threads,
                           int min_tiles, data::SkipReport& skipped,
                           const std::string& progress_label) {
  std::vector<std::shared_ptr<const features::CachedFeatures>> feats(recordings.size());
  std::vector<std::string> errors(recordings.size());
  std::atomic<std::size_t> next{0}, done{0};
  std::exception_ptr fatal;
  std::mutex fatal_mutex;
  common::Progress progress(progress_label.empty() ? "features" : progress_label,
                            recordings.size());
  std::mutex progress_mutex;
  auto worker = [&] {
    for (std::size_t i = next++; i < recordings.size(); i = next++) {
      try {
        feats[i] = cache.get(recordings[i].path);
      } catch (const features::CacheWriteError&) {
        // A full disk is not a bad recording: stop and report it.
        std::lock_guard<std::mutex> lock(fatal_mutex);
        if (!fatal) fatal = std::current_exception();
        next = recordings.size();
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
      const std::size_t d = ++done;
      std::lock_guard<std::mutex> lock(progress_mutex);
      progress.update(d);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, threads); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  progress.finish();
  if (fatal) std::rethrow_exception(fatal);

  TileStore store;
  store.geometry_ = geometry;
  for (std::size_t i = 0; i < recordings.size(); ++i) {
    if (!feats[i]) {
      skipped.add(recordings[i].name, errors[i]);
      continue;
    }
    if (feats[i]->bins() != geometry.bins || feats[i]->channels() != geometry.channels) {
      throw std::runtime_error("cache: entry for '" + recordings[i].path + "' has shape [" +
                               std::to_string(feats[i]->channels()) + ", *, " +
                               std::to_string(feats[i]->bins()) + "], expected [" +
                               std::to_string(geometry.channels) + ", *, " +
                               std::to_string(geometry.bins) + "]");
    }
    const int n = geometry.tiles_in(feats[i]->frames());
    if (n < min_tiles) {
      skipped.add(recordings[i].name, "too short: " + std::to_string(n) + " tile(s) of " +
                                          std::to_string(geometry.tile_seconds) + " s, need " +
                                          std::to_string(min_tiles));
      continue;
    }
    store.recordings_.push_back(recordings[i]);
    store.features_.push_back(std::move(feats[i]));
    store.tiles_.push_back(n);
  }
  return store;
}

void TileStore::copy_tile(std::size_t rec, int tile, float* dst) const {
  const auto& f = *features_[rec];
  const long start = long(tile) * geometry_.step_frames;
  const std::size_t n = std::size_t(geometry_.tile_frames) * geometry_.bins;
  for (int c = 0; c < geometry_.channels; ++c) {
    std::memcpy(dst + c * n, f.frame(c, start), n * sizeof(float));
  }
}

std::string TileStore::tile_name(std::size_t rec, int tile) const {
  std::ostringstream s;
  s << recordings_[rec].name << "__" << tile * geometry_.tile_seconds;
  return s.str();
}

}  // namespace tessera::sampling
