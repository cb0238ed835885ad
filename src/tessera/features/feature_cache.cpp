#include "tessera/features/feature_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "tessera/common/atomic_file.h"
#include "tessera/common/json_text.h"

namespace tessera::features {
namespace {

constexpr char kMagic[8] = {'T', 'S', 'R', 'F', 'E', 'A', 'T', '1'};

// The entry header; the floats follow it.
struct Header {
  char magic[8];
  std::uint64_t key;
  std::uint32_t channels;
  std::uint32_t bins;
  std::uint64_t frames;
  std::uint64_t payload_bytes;
  std::uint8_t reserved[24];
};
static_assert(sizeof(Header) == 64, "the header is 64 bytes so the floats are aligned");

// FNV-1a, 64 bit: stable across runs and machines (std::hash is not).
std::uint64_t fnv1a(const std::string& s, std::uint64_t h = 0xcbf29ce484222325ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

CachedFeatures::~CachedFeatures() {
  if (map_) ::munmap(map_, map_size_);
}

FeatureCache::FeatureCache(std::string dir, audio::AudioOptions audio, FeatureOptions features)
    : dir_(std::move(dir)), audio_(audio), extractor_(features) {
  audio_.validate();
  nlohmann::json j;
  j["features"] = extractor_.options().to_json();
  j["audio"] = {{"rate", audio_.sample_rate_hz},
                {"mono", audio_.to_mono},
                {"channels", audio_.out_channels()},
                {"fixed_s", audio_.fixed_length_s},
                {"trim", audio_.trim},
                {"top_db", audio_.trim_options.top_db}};
  j["format"] = 1;
  options_fingerprint_ = common::dump_json(j);
  if (!dir_.empty()) common::make_dirs(dir_);
}

std::uint64_t FeatureCache::key_of(const std::string& path) const {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw std::runtime_error("decode: '" + path + "': " + std::strerror(errno));
  }
  const long long mtime_ns =
      static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  return fnv1a(path + "|" + std::to_string(st.st_size) + "|" + std::to_string(mtime_ns) + "|" +
               options_fingerprint_);
}

std::string FeatureCache::entry_path(const std::string& path) const {
  return dir_ + "/" + hex(key_of(path)) + ".feat";
}

std::shared_ptr<const CachedFeatures> FeatureCache::map_entry(const std::string& file,
                                                              std::uint64_t key) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(Header))) {
    ::close(fd);
    return nullptr;
  }
  void* map = ::mmap(nullptr, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return nullptr;
  Header h;
  std::memcpy(&h, map, sizeof h);
  // Bound each dimension before multiplying: found by fuzz_cache_entry, a
  // header whose product wrapped around 2^64 matched a small file and was
  // taken as a matrix of ~2^40 floats.
  const bool dims_sane = h.channels >= 1 && h.channels <= 1024 && h.bins >= 1 &&
                         h.bins <= (1u << 20) && h.frames <= (std::uint64_t(1) << 32);
  const bool valid =
      std::memcmp(h.magic, kMagic, 8) == 0 && h.key == key && dims_sane &&
      h.payload_bytes == std::uint64_t(h.channels) * h.frames * h.bins * sizeof(float) &&
      std::uint64_t(st.st_size) == sizeof(Header) + h.payload_bytes;
  if (!valid) {
    ::munmap(map, st.st_size);
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.invalid;
    return nullptr;
  }
  std::shared_ptr<CachedFeatures> f(new CachedFeatures);
  f->map_ = map;
  f->map_size_ = st.st_size;
  f->channels_ = int(h.channels);
  f->frames_ = long(h.frames);
  f->bins_ = int(h.bins);
  f->data_ = reinterpret_cast<const float*>(static_cast<const char*>(map) + sizeof(Header));
  return f;
}

std::shared_ptr<const CachedFeatures> FeatureCache::compute(const std::string& path,
                                                            std::uint64_t key) {
  const audio::AudioBuffer a = audio::load_audio(path, audio_);
  FeatureMatrix m = extractor_.compute(a);
  if (!dir_.empty()) {
    Header h{};
    std::memcpy(h.magic, kMagic, 8);
    h.key = key;
    h.channels = std::uint32_t(m.channels);
    h.bins = std::uint32_t(m.bins);
    h.frames = std::uint64_t(m.frames);
    h.payload_bytes = m.data.size() * sizeof(float);
    std::string bytes(sizeof h + h.payload_bytes, '\0');
    std::memcpy(&bytes[0], &h, sizeof h);
    if (h.payload_bytes) std::memcpy(&bytes[sizeof h], m.data.data(), h.payload_bytes);
    try {
      common::write_file_atomic(dir_ + "/" + hex(key) + ".feat", bytes);
    } catch (const std::runtime_error& e) {
      throw CacheWriteError(std::string("cache: cannot store the features of '") + path +
                            "': " + e.what());
    }
    if (auto mapped = map_entry(dir_ + "/" + hex(key) + ".feat", key)) return mapped;
  }
  std::shared_ptr<CachedFeatures> f(new CachedFeatures);
  f->channels_ = m.channels;
  f->frames_ = m.frames;
  f->bins_ = m.bins;
  f->owned_ = std::move(m.data);
  f->data_ = f->owned_.data();
  return f;
}

std::shared_ptr<const CachedFeatures> FeatureCache::lookup(const std::string& path) {
  const std::uint64_t key = key_of(path);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = open_.find(hex(key));
    if (it != open_.end()) {
      if (auto f = it->second.lock()) return f;
    }
  }
  if (dir_.empty()) return nullptr;
  return map_entry(dir_ + "/" + hex(key) + ".feat", key);
}

std::shared_ptr<const CachedFeatures> FeatureCache::get(const std::string& path) {
  const std::uint64_t key = key_of(path);
  const std::string id = hex(key);
  std::shared_ptr<std::once_flag> once;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = open_.find(id);
    if (it != open_.end()) {
      if (auto f = it->second.lock()) {
        ++stats_.hits;
        return f;
      }
    }
    auto& slot = in_flight_[id];
    if (!slot) slot = std::make_shared<std::once_flag>();
    once = slot;
  }
  std::shared_ptr<const CachedFeatures> result;
  bool computed = false;
  std::call_once(*once, [&] {
    if (!dir_.empty()) result = map_entry(dir_ + "/" + id + ".feat", key);
    if (!result) {
      result = compute(path, key);
      computed = true;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    open_[id] = result;
  });
  std::lock_guard<std::mutex> lock(mutex_);
  if (!result) {
    // Another thread ran the once-block; it published the entry.
    result = open_[id].lock();
    ++stats_.hits;
  } else {
    computed ? ++stats_.misses : ++stats_.hits;
  }
  in_flight_.erase(id);
  if (!result) return get(path);  // dropped meanwhile: fetch again
  return result;
}

FeatureCacheStats FeatureCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace tessera::features
