#include "tessera/audio/resample.h"

#include <soxr.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace tessera::audio {

AudioBuffer resample(const AudioBuffer& in, int target_rate_hz) {
  if (target_rate_hz <= 0) throw std::invalid_argument("resample: target rate must be > 0");
  if (in.sample_rate_hz <= 0)
    throw std::invalid_argument("resample: the input's rate (" + std::to_string(in.sample_rate_hz) +
                                " Hz) must be > 0");
  if (in.sample_rate_hz == target_rate_hz) return in;
  const std::size_t in_frames = in.frames();
  const std::size_t out_frames = static_cast<std::size_t>(
      std::llround(double(in_frames) * target_rate_hz / in.sample_rate_hz));
  AudioBuffer out;
  out.sample_rate_hz = target_rate_hz;
  out.channels = in.channels;
  out.samples.assign(out_frames * in.channels, 0.0f);
  // Found by fuzz_audio: 11 frames at 532 kHz round to 0 output frames, and
  // soxr then writes through the empty buffer's null pointer.
  if (in_frames == 0 || out_frames == 0) return out;
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  // One channel at a time: planar buffers need no interleaving copy.
  for (int c = 0; c < in.channels; ++c) {
    std::size_t done = 0;
    const soxr_error_t err =
        soxr_oneshot(in.sample_rate_hz, target_rate_hz, 1, in.channel(c), in_frames, nullptr,
                     out.channel(c), out_frames, &done, &io, &q, nullptr);
    if (err) throw std::runtime_error(std::string("resample: soxr failed: ") + err);
  }
  return out;
}

}  // namespace tessera::audio
