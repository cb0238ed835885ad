// Decoded audio, planar: channel c's samples are samples[c*frames .. (c+1)*frames).
// Planar because every later step (resampling, features) works per channel.
#pragma once

#include <cstddef>
#include <vector>

namespace tessera::audio {

struct AudioBuffer {
  int sample_rate_hz = 0;
  int channels = 0;
  std::vector<float> samples;

  std::size_t frames() const { return channels ? samples.size() / channels : 0; }
  const float* channel(int c) const { return samples.data() + c * frames(); }
  float* channel(int c) { return samples.data() + c * frames(); }
  double seconds() const { return sample_rate_hz ? double(frames()) / sample_rate_hz : 0.0; }
};

}  // namespace tessera::audio
