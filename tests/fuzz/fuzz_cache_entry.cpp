// libFuzzer target: feature-cache entries. Arbitrary bytes at a recording's
// entry path must be rejected (nullptr) or read as a consistent matrix.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "tessera/audio/encode.h"
#include "tessera/features/feature_cache.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = "/tmp/tessera_fuzz_cache_" + std::to_string(::getpid());
  static const std::string wav = dir + "/a.wav";
  static tessera::features::FeatureCache* cache = [] {
    ::mkdir(dir.c_str(), 0755);
    tessera::audio::AudioBuffer a;
    a.sample_rate_hz = 16000;
    a.channels = 1;
    a.samples.assign(4000, 0.1f);
    tessera::audio::write_wav(wav, a);
    return new tessera::features::FeatureCache(dir + "/cache", tessera::audio::AudioOptions{},
                                               tessera::features::FeatureOptions{});
  }();
  FILE* f = std::fopen(cache->entry_path(wav).c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  if (auto e = cache->lookup(wav)) {
    double sum = 0;
    const std::size_t n = std::size_t(e->channels()) * e->frames() * e->bins();
    for (std::size_t i = 0; i < n; ++i) sum += e->data()[i];
    (void)sum;
  }
  return 0;
}
