// Writing WAV files with libsndfile, atomically (temporary file + rename), so
// an interrupted `tessera synth` never leaves a half-written clip behind.
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
