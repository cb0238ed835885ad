// tf.signal.linear_to_mel_weight_matrix as a sparse filterbank: HTK mel
// (1127 ln(1 + f/700)), triangles between num_mel_bins + 2 equally spaced mel
// edges, the DC bin weighted zero. Stored per band as (first bin, weights),
// since each spectrum bin feeds at most two bands.
#pragma once

#include <cstddef>
#include <vector>

namespace tessera::features {

double hertz_to_mel(double hz);
double mel_to_hertz(double mel);

class MelFilterbank {
 public:
  MelFilterbank(int n_mel_bins, int spectrum_bins, int sample_rate_hz, double lower_edge_hz,
                double upper_edge_hz);

  int n_mel_bins() const { return static_cast<int>(first_.size()); }
  int spectrum_bins() const { return spectrum_bins_; }
  // out[b] = sum_k spectrum[k] * W[k][b]
  void apply(const float* spectrum, float* out) const;
  // kLanes spectra at once, interleaved as RealFft::magnitude_lanes writes
  // them: out[b * lanes + l] = sum_k spectrum[k * lanes + l] * W[k][b].
  template <int kLanes>
  void apply_lanes(const float* spectrum, float* out) const {
    const int n = n_mel_bins();
    for (int b = 0; b < n; ++b) {
      const float* s = spectrum + std::size_t(first_[b]) * kLanes;
      const std::vector<float>& w = weights_[b];
      float acc[kLanes] = {};
      for (std::size_t i = 0; i < w.size(); ++i) {
        for (int l = 0; l < kLanes; ++l) acc[l] += s[i * kLanes + l] * w[i];
      }
      for (int l = 0; l < kLanes; ++l) out[b * kLanes + l] = acc[l];
    }
  }
  // The dense [spectrum_bins x n_mel_bins] matrix, as TF returns it.
  std::vector<float> dense() const;

 private:
  int spectrum_bins_;
  std::vector<int> first_;                   // first non-zero bin per band
  std::vector<std::vector<float>> weights_;  // contiguous weights per band
};

}  // namespace tessera::features
