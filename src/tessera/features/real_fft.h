// A real-input FFT of a power-of-two size N, computed as one complex FFT of
// size N/2 on the even/odd samples plus a split step. Twiddles and the
// bit-reversal table are precomputed once; forward() allocates nothing when
// given its scratch, so many threads can share one RealFft.
#pragma once

#include <cstddef>
#include <vector>

#include "tessera/common/simd_dispatch.h"

namespace tessera::features {

class RealFft {
 public:
  explicit RealFft(int size);

  int size() const { return n_; }
  int bins() const { return n_ / 2 + 1; }

  // Scratch for one call; reuse it across calls from one thread.
  struct Scratch {
    std::vector<float> re, im;  // the half-size complex FFT
    std::vector<float> xr, xi;  // the spectrum, for magnitude()
  };
  Scratch make_scratch() const;

  // in: n_ real samples. out_re/out_im: bins() values each (DC .. Nyquist).
  void forward(const float* in, float* out_re, float* out_im, Scratch& scratch) const;
  // |X[k]| for k in [0, bins()).
  void magnitude(const float* in, float* out, Scratch& scratch) const;

  // kLanes transforms at once, interleaved: in[i * kLanes + lane] for i < size(),
  // out[k * kLanes + lane] = |X_lane[k]| for k < bins(). Every butterfly is then
  // a kLanes-wide vector operation, including the first stages and the split
  // step that defeat vectorisation of a single transform. The lanes never mix,
  // so a frame's result does not depend on the lane it occupies.
  static constexpr int kLanes = 8;
  struct LaneScratch {
    std::vector<float> re, im;
  };
  LaneScratch make_lane_scratch() const;
  void magnitude_lanes(const float* in, float* out, LaneScratch& scratch,
                       common::SimdLevel level = common::cpu_simd_level()) const;

 private:
  void complex_fft(float* re, float* im) const;  // in place, size m_
  // magnitude_lanes for each SIMD level (common/simd_dispatch.h), and the
  // body they compile.
  void magnitude_lanes_avx512(const float* in, float* out, LaneScratch& scratch) const;
  void magnitude_lanes_avx2(const float* in, float* out, LaneScratch& scratch) const;
  void magnitude_lanes_baseline(const float* in, float* out, LaneScratch& scratch) const;
  inline void magnitude_lanes_body(const float* in, float* out, LaneScratch& scratch) const;

  int n_;
  int m_;  // n_ / 2
  int log2m_;
  std::vector<int> bitrev_;
  // Per stage with half-size h: cos and -sin of 2*pi*k/(2h), k < h,
  // stored stage after stage (h = 1, 2, 4, ...).
  std::vector<float> tw_re_, tw_im_;
  // The split step's twiddles e^{-2 pi i k / n}, k <= m_.
  std::vector<float> split_re_, split_im_;
};

}  // namespace tessera::features
