// Channel layout and length: mixing down to mono, keeping a fixed number of
// channels, and cropping or zero-padding to a fixed duration.
#pragma once

#include <cstddef>

#include "tessera/audio/audio_buffer.h"

namespace tessera::audio {

// The mean over the file's real channels. (TF's decode_wav with
// desired_channels would first duplicate channels; Tessera does not.)
AudioBuffer mix_to_mono(const AudioBuffer& in);

// Exactly `channels` channels: extra ones are dropped, and a file with fewer
// repeats its channels cyclically (a mono file becomes identical channels).
AudioBuffer select_channels(const AudioBuffer& in, int channels);

// Crops the end or zero-pads it to exactly `frames` frames.
AudioBuffer fit_length(const AudioBuffer& in, std::size_t frames);

}  // namespace tessera::audio
