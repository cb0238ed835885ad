// libFuzzer target: the audio loading path end to end, from the file's bytes
// through decoding, mixing, resampling, padding and log-mel features.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "tessera/audio/loader.h"
#include "tessera/features/feature_extractor.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/tessera_fuzz_audio_" + std::to_string(::getpid()) + ".wav";
  static const tessera::features::FeatureExtractor fx{tessera::features::FeatureOptions{}};
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  for (bool music : {false, true}) {
    tessera::audio::AudioOptions o;
    o.fixed_length_s = music ? 0.0 : 1.0;
    o.trim = music;
    try {
      const tessera::audio::AudioBuffer a = tessera::audio::load_audio(path, o);
      (void)fx.compute(a);
    } catch (const std::runtime_error&) {
    }
  }
  return 0;
}
