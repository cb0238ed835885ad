#include "tessera/features/real_fft.h"
#include "tessera/common/simd_dispatch.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace tessera::features {

RealFft::RealFft(int size) : n_(size), m_(size / 2) {
  // >= 8 so that the half-size transform has the two stages the lane path
  // fuses into one radix-4 pass.
  if (size < 8 || (size & (size - 1)) != 0) {
    throw std::invalid_argument("RealFft: size (" + std::to_string(size) +
                                ") must be a power of two >= 8");
  }
  log2m_ = 0;
  while ((1 << log2m_) < m_) ++log2m_;
  bitrev_.resize(m_);
  for (int i = 0; i < m_; ++i) {
    int r = 0;
    for (int b = 0; b < log2m_; ++b) r |= ((i >> b) & 1) << (log2m_ - 1 - b);
    bitrev_[i] = r;
  }
  // Twiddles in double, rounded once to float, to keep the FFT's error small.
  for (int h = 1; h < m_; h *= 2) {
    for (int k = 0; k < h; ++k) {
      const double a = -M_PI * k / h;
      tw_re_.push_back(static_cast<float>(std::cos(a)));
      tw_im_.push_back(static_cast<float>(std::sin(a)));
    }
  }
  split_re_.resize(m_ + 1);
  split_im_.resize(m_ + 1);
  for (int k = 0; k <= m_; ++k) {
    const double a = -2.0 * M_PI * k / n_;
    split_re_[k] = static_cast<float>(std::cos(a));
    split_im_[k] = static_cast<float>(std::sin(a));
  }
}

RealFft::Scratch RealFft::make_scratch() const {
  Scratch s;
  s.re.resize(m_);
  s.im.resize(m_);
  s.xr.resize(m_ + 1);
  s.xi.resize(m_ + 1);
  return s;
}

void RealFft::complex_fft(float* re, float* im) const {
  const float* twr = tw_re_.data();
  const float* twi = tw_im_.data();
  for (int h = 1; h < m_; h *= 2) {
    const int step = 2 * h;
    for (int j = 0; j < m_; j += step) {
      float* ar = re + j;
      float* ai = im + j;
      float* br = re + j + h;
      float* bi = im + j + h;
      // Split arrays keep this loop free of shuffles so it vectorises for h >= 4.
      for (int k = 0; k < h; ++k) {
        const float tr = br[k] * twr[k] - bi[k] * twi[k];
        const float ti = br[k] * twi[k] + bi[k] * twr[k];
        br[k] = ar[k] - tr;
        bi[k] = ai[k] - ti;
        ar[k] += tr;
        ai[k] += ti;
      }
    }
    twr += h;
    twi += h;
  }
}

void RealFft::forward(const float* in, float* out_re, float* out_im, Scratch& s) const {
  float* re = s.re.data();
  float* im = s.im.data();
  // z[j] = x[2j] + i x[2j+1], loaded in bit-reversed order for the DIT passes.
  for (int j = 0; j < m_; ++j) {
    const int r = bitrev_[j];
    re[r] = in[2 * j];
    im[r] = in[2 * j + 1];
  }
  complex_fft(re, im);
  // X[k] = E[k] + W^k O[k], with E = (Z[k] + conj Z[m-k]) / 2 and
  // O = -i (Z[k] - conj Z[m-k]) / 2.
  for (int k = 0; k <= m_; ++k) {
    const int a = k == m_ ? 0 : k;
    const int b = k == 0 ? 0 : m_ - k;
    const float zr = re[a], zi = im[a];
    const float cr = re[b], ci = -im[b];
    const float er = 0.5f * (zr + cr), ei = 0.5f * (zi + ci);
    const float dr = 0.5f * (zr - cr), di = 0.5f * (zi - ci);
    const float or_ = di, oi = -dr;  // -i * d
    const float wr = split_re_[k], wi = split_im_[k];
    out_re[k] = er + wr * or_ - wi * oi;
    out_im[k] = ei + wr * oi + wi * or_;
  }
}

void RealFft::magnitude(const float* in, float* out, Scratch& s) const {
  forward(in, s.xr.data(), s.xi.data(), s);
  for (int k = 0; k <= m_; ++k) out[k] = std::sqrt(s.xr[k] * s.xr[k] + s.xi[k] * s.xi[k]);
}

RealFft::LaneScratch RealFft::make_lane_scratch() const {
  LaneScratch s;
  s.re.resize(std::size_t(m_) * kLanes);
  s.im.resize(std::size_t(m_) * kLanes);
  return s;
}

namespace {
// Eight floats as one value: GCC's vector extension maps it to one AVX
// register, or two SSE registers on the baseline, without intrinsics.
// aligned(4) allows unaligned loads and stores through these pointers.
typedef float V8 __attribute__((vector_size(32), aligned(4)));
static_assert(RealFft::kLanes == 8, "V8 holds one lane group");
}  // namespace

TESSERA_SIMD_BODY void RealFft::magnitude_lanes_body(const float* in, float* out,
                                                     LaneScratch& s) const {
  V8* re = reinterpret_cast<V8*>(s.re.data());
  V8* im = reinterpret_cast<V8*>(s.im.data());
  const V8* x = reinterpret_cast<const V8*>(in);
  for (int j = 0; j < m_; ++j) {
    const int r = bitrev_[j];
    re[r] = x[2 * j];
    im[r] = x[2 * j + 1];
  }
  // The first two stages together, as multiplication-free radix-4
  // butterflies: their twiddles are 1 and -i.
  for (int j = 0; j < m_; j += 4) {
    const V8 r0 = re[j] + re[j + 1], i0 = im[j] + im[j + 1];
    const V8 r1 = re[j] - re[j + 1], i1 = im[j] - im[j + 1];
    const V8 r2 = re[j + 2] + re[j + 3], i2 = im[j + 2] + im[j + 3];
    const V8 r3 = re[j + 2] - re[j + 3], i3 = im[j + 2] - im[j + 3];
    re[j] = r0 + r2;
    im[j] = i0 + i2;
    re[j + 2] = r0 - r2;
    im[j + 2] = i0 - i2;
    // (r3 + i i3) * (-i) = i3 - i r3
    re[j + 1] = r1 + i3;
    im[j + 1] = i1 - r3;
    re[j + 3] = r1 - i3;
    im[j + 3] = i1 + r3;
  }
  const float* twr = tw_re_.data() + 3;  // skip the tables of stages h = 1, 2
  const float* twi = tw_im_.data() + 3;
  for (int h = 4; h < m_; h *= 2) {
    for (int j = 0; j < m_; j += 2 * h) {
      for (int k = 0; k < h; ++k) {
        const float wr = twr[k], wi = twi[k];  // scalars broadcast over the lanes
        const int a = j + k, b = j + k + h;
        const V8 tr = re[b] * wr - im[b] * wi;
        const V8 ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
    twr += h;
    twi += h;
  }
  V8* mag = reinterpret_cast<V8*>(out);
  for (int k = 0; k <= m_; ++k) {
    const int a = k == m_ ? 0 : k;
    const int b = k == 0 ? 0 : m_ - k;
    const float wr = split_re_[k], wi = split_im_[k];
    const V8 zr = re[a], zi = im[a];
    const V8 cr = re[b], ci = -im[b];
    const V8 er = 0.5f * (zr + cr), ei = 0.5f * (zi + ci);
    const V8 or_ = 0.5f * (zi - ci), oi = -(0.5f * (zr - cr));
    const V8 xr = er + wr * or_ - wi * oi;
    const V8 xi = ei + wr * oi + wi * or_;
    mag[k] = xr * xr + xi * xi;
  }
  // A separate pass so that sqrt vectorises (the features target builds
  // with -fno-math-errno: the argument is never negative).
  const int total = (m_ + 1) * kLanes;
  for (int i = 0; i < total; ++i) out[i] = std::sqrt(out[i]);
}

// Compiled for AVX-512, AVX2 and the baseline (common/simd_dispatch.h); the
// same operations in the same order without contraction, so every variant
// computes the same bits.
TESSERA_SIMD_DISPATCH(RealFft::magnitude_lanes, (const float* in, float* out, LaneScratch& s),
                      (in, out, s), const)

}  // namespace tessera::features
