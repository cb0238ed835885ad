#include "tessera/features/mel_filterbank.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace tessera::features {

double hertz_to_mel(double hz) {
  return 1127.0 * std::log(1.0 + hz / 700.0);
}
double mel_to_hertz(double mel) {
  return 700.0 * (std::exp(mel / 1127.0) - 1.0);
}

MelFilterbank::MelFilterbank(int n_mel_bins, int spectrum_bins, int sample_rate_hz,
                             double lower_edge_hz, double upper_edge_hz)
    : spectrum_bins_(spectrum_bins) {
  if (n_mel_bins < 1 || spectrum_bins < 2) {
    throw std::invalid_argument("MelFilterbank: need >= 1 mel bin and >= 2 spectrum bins");
  }
  const double nyquist = sample_rate_hz / 2.0;
  if (!(lower_edge_hz >= 0 && lower_edge_hz < upper_edge_hz && upper_edge_hz <= nyquist)) {
    throw std::invalid_argument("MelFilterbank: need 0 <= lower edge < upper edge <= Nyquist");
  }
  const double lo = hertz_to_mel(lower_edge_hz);
  const double hi = hertz_to_mel(upper_edge_hz);
  // TF: linspace(lo, hi, n_mel + 2) framed into (lower, center, upper) triples.
  std::vector<double> edges(n_mel_bins + 2);
  for (int i = 0; i < n_mel_bins + 2; ++i) edges[i] = lo + (hi - lo) * i / (n_mel_bins + 1);
  first_.assign(n_mel_bins, 0);
  weights_.assign(n_mel_bins, {});
  for (int b = 0; b < n_mel_bins; ++b) {
    const double l = edges[b], c = edges[b + 1], u = edges[b + 2];
    int first = -1;
    std::vector<float> w;
    // Bin 0 (DC) is excluded, as HTK does; bin k sits at k * nyquist / (bins - 1).
    for (int k = 1; k < spectrum_bins; ++k) {
      const double mel = hertz_to_mel(nyquist * k / (spectrum_bins - 1));
      const double weight = std::max(0.0, std::min((mel - l) / (c - l), (u - mel) / (u - c)));
      if (weight > 0) {
        if (first < 0) first = k;
        // Zeros inside a band's span (none occur for triangles) are kept so
        // the band stays one contiguous run.
        w.resize(k - first + 1, 0.0f);
        w[k - first] = static_cast<float>(weight);
      }
    }
    first_[b] = first < 0 ? 0 : first;
    weights_[b] = std::move(w);
  }
}

void MelFilterbank::apply(const float* spectrum, float* out) const {
  const int n = n_mel_bins();
  for (int b = 0; b < n; ++b) {
    const float* s = spectrum + first_[b];
    const std::vector<float>& w = weights_[b];
    float acc = 0.0f;
    for (std::size_t i = 0; i < w.size(); ++i) acc += s[i] * w[i];
    out[b] = acc;
  }
}

std::vector<float> MelFilterbank::dense() const {
  const int n = n_mel_bins();
  std::vector<float> m(std::size_t(spectrum_bins_) * n, 0.0f);
  for (int b = 0; b < n; ++b) {
    for (std::size_t i = 0; i < weights_[b].size(); ++i) {
      m[(first_[b] + i) * n + b] = weights_[b][i];
    }
  }
  return m;
}

}  // namespace tessera::features
