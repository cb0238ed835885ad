// Decoding with libsndfile: WAV (PCM 16/24/32-bit, float), FLAC and OGG.
// Integer PCM is scaled by 1/2^(bits-1), so int16 maps to x/32768 exactly as
// tf.audio.decode_wav does.
//
// Every failure throws std::runtime_error "decode: '<path>': <reason>": a
// missing file, a directory, a non-audio file, a truncated file whose header
// claims more frames than it holds, zero samples, and NaN/Inf samples.
#pragma once

#include <string>

#include "tessera/audio/audio_buffer.h"

namespace tessera::audio {

struct AudioInfo {
  int sample_rate_hz = 0;
  int channels = 0;
  long long frames = 0;
  double seconds() const { return sample_rate_hz ? double(frames) / sample_rate_hz : 0.0; }
};

AudioBuffer decode_file(const std::string& path);
// Reads the header only.
AudioInfo probe_file(const std::string& path);

}  // namespace tessera::audio
