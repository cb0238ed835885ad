// Writing WAV files with libsndfile through a temporary file and a rename, so
// an interrupted `tessera synth` never leaves a half-written clip behind.
// (No fsync: generated data is cheap to regenerate, and syncing every clip
// would cut the generator's throughput several-fold.)
#pragma once

#include <string>

#include "tessera/audio/audio_buffer.h"

namespace tessera::audio {

enum class SampleFormat { kPcm16, kFloat32 };

// Samples outside [-1, 1) are clipped for PCM16. Throws std::runtime_error
// "encode: '<path>': <reason>".
void write_wav(const std::string& path, const AudioBuffer& audio,
               SampleFormat format = SampleFormat::kPcm16);

}  // namespace tessera::audio
