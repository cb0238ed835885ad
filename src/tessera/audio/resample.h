// Sample-rate conversion with soxr at its high-quality setting.
#pragma once

#include "tessera/audio/audio_buffer.h"

namespace tessera::audio {

// Returns the input unchanged when the rates already match. Throws
// std::runtime_error "resample: <reason>" if soxr fails.
AudioBuffer resample(const AudioBuffer& in, int target_rate_hz);

}  // namespace tessera::audio
