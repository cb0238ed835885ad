#include "tessera/audio/trim.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "tessera/audio/channels.h"

namespace tessera::audio {

void TrimOptions::validate() const {
  if (!(top_db > 0)) throw std::invalid_argument("trim: top_db must be > 0");
  if (frame_length < 1 || hop_length < 1) {
    throw std::invalid_argument("trim: frame_length and hop_length must be >= 1");
  }
}

std::pair<std::size_t, std::size_t> nonsilent_span(const AudioBuffer& in, const TrimOptions& opt) {
  opt.validate();
  const AudioBuffer mono = mix_to_mono(in);
  const std::size_t n = mono.frames();
  const float* y = mono.samples.data();
  const std::size_t n_frames = 1 + n / opt.hop_length;
  const long pad = opt.frame_length / 2;
  // Prefix sums of squares make each frame's mean square O(1).
  std::vector<double> cum(n + 1, 0.0);
  for (std::size_t i = 0; i < n; ++i) cum[i + 1] = cum[i] + double(y[i]) * y[i];
  std::vector<double> ms(n_frames);
  double peak = 0.0;
  for (std::size_t f = 0; f < n_frames; ++f) {
    const long lo = long(f) * opt.hop_length - pad;  // in unpadded coordinates
    const long hi = lo + opt.frame_length;
    const long a = std::clamp(lo, 0L, long(n));
    const long b = std::clamp(hi, 0L, long(n));
    ms[f] = (cum[b] - cum[a]) / opt.frame_length;
    peak = std::max(peak, ms[f]);
  }
  // power_to_db with amin = 1e-10 on both the frame and the reference.
  const double amin = 1e-10;
  const double ref_db = 10.0 * std::log10(std::max(amin, peak));
  long first = -1, last = -1;
  for (std::size_t f = 0; f < n_frames; ++f) {
    const double db = 10.0 * std::log10(std::max(amin, ms[f])) - ref_db;
    if (db > -opt.top_db) {
      if (first < 0) first = long(f);
      last = long(f);
    }
  }
  if (first < 0) return {0, 0};
  const std::size_t start = std::size_t(first) * opt.hop_length;
  const std::size_t end = std::min(n, std::size_t(last + 1) * opt.hop_length);
  return {start, end};
}

AudioBuffer trim_silence(const AudioBuffer& in, const TrimOptions& opt) {
  const auto [start, end] = nonsilent_span(in, opt);
  AudioBuffer out;
  out.sample_rate_hz = in.sample_rate_hz;
  out.channels = in.channels;
  const std::size_t len = end - start;
  out.samples.resize(len * in.channels);
  for (int c = 0; c < in.channels; ++c) {
    std::copy(in.channel(c) + start, in.channel(c) + end, out.samples.data() + c * len);
  }
  return out;
}

}  // namespace tessera::audio
