#include "tessera/audio/loader.h"

#include <cmath>
#include <stdexcept>

#include "tessera/audio/channels.h"
#include "tessera/audio/decode.h"
#include "tessera/audio/resample.h"

namespace tessera::audio {

void AudioOptions::validate() const {
  if (sample_rate_hz <= 0) throw std::invalid_argument("audio: sample_rate_hz must be > 0");
  if (!to_mono && channels <= 0) throw std::invalid_argument("audio: channels must be > 0");
  if (trim) trim_options.validate();
}

AudioBuffer prepare_audio(AudioBuffer audio, const AudioOptions& options) {
  options.validate();
  // Mix down before resampling: one channel to resample instead of four.
  audio = options.to_mono ? mix_to_mono(audio) : select_channels(audio, options.channels);
  audio = resample(audio, options.sample_rate_hz);
  if (options.trim) audio = trim_silence(audio, options.trim_options);
  if (options.fixed_length_s > 0) {
    audio = fit_length(audio, static_cast<std::size_t>(
                                  std::llround(options.fixed_length_s * options.sample_rate_hz)));
  }
  return audio;
}

AudioBuffer load_audio(const std::string& path, const AudioOptions& options) {
  return prepare_audio(decode_file(path), options);
}

}  // namespace tessera::audio
