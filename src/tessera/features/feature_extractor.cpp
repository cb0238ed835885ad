#include "tessera/features/feature_extractor.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tessera/features/fast_log.h"

namespace tessera::features {
namespace {

// tf.signal.hann_window(periodic=True): 0.5 - 0.5 cos(2 pi n / N).
std::vector<float> periodic_hann(int n) {
  std::vector<float> w(n);
  for (int i = 0; i < n; ++i) w[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * M_PI * i / n));
  return w;
}

// tf.signal.mfccs_from_log_mel_spectrograms: TF's unnormalised DCT-II
// (2 * sum x_n cos(pi k (2n+1) / 2N)) times rsqrt(2N). For c0 this is
// sqrt(2/N) * sum, not the orthonormal sqrt(1/N) * sum of scipy's norm='ortho'.
std::vector<float> tf_mfcc_dct(int n_mfcc, int n_mel) {
  std::vector<float> d(std::size_t(n_mfcc) * n_mel);
  const double scale = 2.0 / std::sqrt(2.0 * n_mel);
  for (int k = 0; k < n_mfcc; ++k) {
    for (int n = 0; n < n_mel; ++n) {
      d[std::size_t(k) * n_mel + n] =
          static_cast<float>(scale * std::cos(M_PI * k * (2.0 * n + 1.0) / (2.0 * n_mel)));
    }
  }
  return d;
}

FeatureOptions validated(const FeatureOptions& o) {
  o.validate();
  return o;
}

}  // namespace

FeatureExtractor::FeatureExtractor(const FeatureOptions& options)
    : options_(validated(options)),
      window_(periodic_hann(options.frame_length_samples)),
      fft_(options.fft_size),
      mel_(options.n_mel_bins, options.spectrum_bins(), options.sample_rate_hz,
           options.lower_edge_hz, options.upper_edge()) {
  if (options_.kind == FeatureKind::kMfcc) dct_ = tf_mfcc_dct(options_.n_mfcc, options_.n_mel_bins);
}

void FeatureExtractor::compute_into(const float* x, std::size_t n, float* out) const {
  constexpr int L = RealFft::kLanes;
  const long frames = num_frames(static_cast<long>(n));
  const int flen = options_.frame_length_samples;
  const int step = options_.frame_step_samples;
  const int n_mel = options_.n_mel_bins;
  const int n_out = options_.out_bins();
  const float offset = static_cast<float>(options_.log_offset);
  // One scratch set per call. Rows >= frame_length of `lanes` stay zero: the
  // FFT's zero padding.
  RealFft::LaneScratch scratch = fft_.make_lane_scratch();
  std::vector<float> lanes(std::size_t(options_.fft_size) * L, 0.0f);
  std::vector<float> spectrum(std::size_t(options_.spectrum_bins()) * L);
  std::vector<float> mel(std::size_t(n_mel) * L);
  std::vector<float> log_mel(n_mel);
  for (long f0 = 0; f0 < frames; f0 += L) {
    const int used = static_cast<int>(std::min<long>(L, frames - f0));
    for (int l = 0; l < L; ++l) {
      if (l < used) {
        const float* src = x + (f0 + l) * step;
        for (int i = 0; i < flen; ++i) lanes[i * L + l] = src[i] * window_[i];
      } else {
        for (int i = 0; i < flen; ++i) lanes[i * L + l] = 0.0f;
      }
    }
    fft_.magnitude_lanes(lanes.data(), spectrum.data(), scratch, options_.simd);
    mel_.apply_lanes<L>(spectrum.data(), mel.data());
    for (float& v : mel) v += offset;
    log_inplace_x8(mel.data(), n_mel * L, options_.simd);
    for (int l = 0; l < used; ++l) {
      float* dst = out + (f0 + l) * n_out;
      if (dct_.empty()) {
        for (int b = 0; b < n_mel; ++b) dst[b] = mel[b * L + l];
        continue;
      }
      for (int b = 0; b < n_mel; ++b) log_mel[b] = mel[b * L + l];
      for (int k = 0; k < n_out; ++k) {
        const float* row = dct_.data() + std::size_t(k) * n_mel;
        float acc = 0.0f;
        for (int b = 0; b < n_mel; ++b) acc += row[b] * log_mel[b];
        dst[k] = acc;
      }
    }
  }
}

FeatureMatrix FeatureExtractor::compute(const float* samples, std::size_t n) const {
  FeatureMatrix m;
  m.channels = 1;
  m.frames = num_frames(static_cast<long>(n));
  m.bins = options_.out_bins();
  m.data.resize(std::size_t(m.frames) * m.bins);
  compute_into(samples, n, m.data.data());
  return m;
}

FeatureMatrix FeatureExtractor::compute(const audio::AudioBuffer& audio) const {
  FeatureMatrix m;
  m.channels = audio.channels;
  m.frames = num_frames(static_cast<long>(audio.frames()));
  m.bins = options_.out_bins();
  m.data.resize(std::size_t(m.channels) * m.frames * m.bins);
  for (int c = 0; c < audio.channels; ++c) {
    compute_into(audio.channel(c), audio.frames(),
                 m.data.data() + std::size_t(c) * m.frames * m.bins);
  }
  return m;
}

}  // namespace tessera::features
