#include "tessera/audio/channels.h"

#include <algorithm>
#include <stdexcept>

namespace tessera::audio {

AudioBuffer mix_to_mono(const AudioBuffer& in) {
  if (in.channels == 1) return in;
  AudioBuffer out;
  out.sample_rate_hz = in.sample_rate_hz;
  out.channels = 1;
  const std::size_t n = in.frames();
  out.samples.assign(n, 0.0f);
  for (int c = 0; c < in.channels; ++c) {
    const float* src = in.channel(c);
    for (std::size_t i = 0; i < n; ++i) out.samples[i] += src[i];
  }
  const float scale = 1.0f / static_cast<float>(in.channels);
  for (float& v : out.samples) v *= scale;
  return out;
}

AudioBuffer select_channels(const AudioBuffer& in, int channels) {
  if (channels <= 0) throw std::invalid_argument("select_channels: channels must be > 0");
  if (in.channels == channels) return in;
  AudioBuffer out;
  out.sample_rate_hz = in.sample_rate_hz;
  out.channels = channels;
  const std::size_t n = in.frames();
  out.samples.resize(n * channels);
  for (int c = 0; c < channels; ++c) {
    const float* src = in.channel(c % in.channels);
    std::copy(src, src + n, out.channel(c));
  }
  return out;
}

AudioBuffer fit_length(const AudioBuffer& in, std::size_t frames) {
  if (in.frames() == frames) return in;
  AudioBuffer out;
  out.sample_rate_hz = in.sample_rate_hz;
  out.channels = in.channels;
  out.samples.assign(frames * in.channels, 0.0f);
  const std::size_t keep = std::min(frames, in.frames());
  for (int c = 0; c < in.channels; ++c) {
    std::copy(in.channel(c), in.channel(c) + keep, out.samples.data() + c * frames);
  }
  return out;
}

}  // namespace tessera::audio
