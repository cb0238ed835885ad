// An on-disk cache of each recording's whole feature matrix, memory-mapped
// for reading. Tiles are slices of these matrices (bit-exact, see
// FeatureExtractor), so after one pass no epoch and no margin of a sweep
// does FFT work again.
//
// An entry is keyed by the file's path, size and mtime and by the audio and
// feature options, so changing any of them never serves stale features. It
// is written to a temporary file and renamed into place; a reader checks the
// magic, the key and the exact size, so a partially written or foreign file
// is never taken as valid (it is recomputed).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "tessera/audio/loader.h"
#include "tessera/features/feature_extractor.h"

namespace tessera::features {

// A read-only view of one cached matrix, [channels][frames][bins], that keeps
// its mapping alive.
class CachedFeatures {
 public:
  ~CachedFeatures();
  CachedFeatures(const CachedFeatures&) = delete;
  CachedFeatures& operator=(const CachedFeatures&) = delete;

  int channels() const { return channels_; }
  long frames() const { return frames_; }
  int bins() const { return bins_; }
  const float* data() const { return data_; }
  const float* frame(int channel, long f) const {
    return data_ + (std::size_t(channel) * frames_ + f) * bins_;
  }

 private:
  friend class FeatureCache;
  CachedFeatures() = default;
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::vector<float> owned_;  // used instead of a mapping for in-memory caches
  int channels_ = 0;
  long frames_ = 0;
  int bins_ = 0;
  const float* data_ = nullptr;
};

// A cache entry could not be written (a full disk, a file-size limit):
// unlike a bad input file, this is fatal for the run.
class CacheWriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FeatureCacheStats {
  std::size_t hits = 0, misses = 0, invalid = 0;
};

class FeatureCache {
 public:
  // dir empty: keep features in memory only.
  FeatureCache(std::string dir, audio::AudioOptions audio, FeatureOptions features);

  // The features of one file: mapped from the cache, or decoded, computed,
  // stored and mapped. Thread-safe; concurrent requests for one file compute
  // it once. Throws std::runtime_error naming the file if it cannot be decoded.
  std::shared_ptr<const CachedFeatures> get(const std::string& path);
  // Only a valid cache entry, else nullptr; never computes.
  std::shared_ptr<const CachedFeatures> lookup(const std::string& path);

  // The entry's file name for a path in its current state (size and mtime).
  std::string entry_path(const std::string& path) const;
  FeatureCacheStats stats() const;
  const FeatureExtractor& extractor() const { return extractor_; }
  const std::string& dir() const { return dir_; }

 private:
  std::uint64_t key_of(const std::string& path) const;
  std::shared_ptr<const CachedFeatures> map_entry(const std::string& file, std::uint64_t key);
  std::shared_ptr<const CachedFeatures> compute(const std::string& path, std::uint64_t key);

  std::string dir_;
  audio::AudioOptions audio_;
  FeatureExtractor extractor_;
  std::string options_fingerprint_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<std::once_flag>> in_flight_;
  std::unordered_map<std::string, std::weak_ptr<const CachedFeatures>> open_;
  FeatureCacheStats stats_;
};

}  // namespace tessera::features
