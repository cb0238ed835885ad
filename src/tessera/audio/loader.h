// The audio front end in one call: decode, choose channels, resample, and
// either fit to a fixed duration (DCASE mode) or keep the length and trim
// silence (music mode).
#pragma once

#include <string>

#include "tessera/audio/audio_buffer.h"
#include "tessera/audio/trim.h"

namespace tessera::audio {

struct AudioOptions {
  int sample_rate_hz = 16000;
  bool to_mono = true;
  int channels = 4;              // kept when to_mono is false
  double fixed_length_s = 10.0;  // <= 0: keep the recording's own length
  bool trim = false;             // librosa-style silence trimming
  TrimOptions trim_options;

  void validate() const;
  int out_channels() const { return to_mono ? 1 : channels; }
  // DCASE layout: fixed sample_size seconds. Music layout: own length, trimmed.
};

AudioBuffer load_audio(const std::string& path, const AudioOptions& options);
// The same steps on already decoded audio.
AudioBuffer prepare_audio(AudioBuffer decoded, const AudioOptions& options);

}  // namespace tessera::audio
