#include "tessera/model/max_pool.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <ATen/record_function.h>

#include "tessera/common/simd_dispatch.h"
#include "tessera/model/batch_norm.h"
#include "tessera/model/bf16_vector.h"
#include "tessera/model/lane_order.h"
#include "tessera/model/parallel.h"

namespace tessera::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using simd::V16;
using simd::V16i;
using simd::V16u;
using simd::V32;
using simd::V8;
using simd::V8i;
using simd::V8u;
using bf16 = c10::BFloat16;

int pooled_size(std::int64_t n) {
  return int((n + 1) / 2);  // (n + 2 * 1 - 3) / 2 + 1
}

// A value beats the running maximum if it is larger or NaN: ATen's rule,
// under which the first maximum of a window wins and its last NaN, if any.
inline bool beats(float v, float best) {
  return v > best || std::isnan(v);
}

// Lane-wise beats(): compares and a blend, no branch (on continuous data a
// branch per comparison mispredicts about half the time).
__attribute__((always_inline)) inline V8i beats8(V8 v, V8 best) {
  return (v > best) | (v != v);
}

// bf16 rounding as c10::BFloat16 does it, eight lanes at a time.
__attribute__((always_inline)) inline void store_bf16(V8 v, c10::BFloat16* out) {
  const V8u r = simd::bf16_bits<V8, V8u>(v);
  for (int i = 0; i < 8; ++i) out[i].x = std::uint16_t(r[i]);
}

__attribute__((always_inline)) inline void store8(V8 v, float* out) {
  *reinterpret_cast<V8*>(out) = v;
}
__attribute__((always_inline)) inline void store8(V8 v, c10::BFloat16* out) {
  store_bf16(v, out);
}

// Splits a row into its even and odd columns as floats (odd gets -inf past
// the row's end, so a last window that lacks its third column never picks it).
template <typename T>
void split_row(const T* src, int w, float* even, float* odd) {
  for (int c = 0; c < w; c += 2) even[c / 2] = float(src[c]);
  for (int c = 1; c < w; c += 2) odd[c / 2] = float(src[c]);
  if (w % 2) odd[w / 2] = -std::numeric_limits<float>::infinity();
}

// The maxima of one row's windows (columns 2*ow-1 .. 2*ow+1, i.e. odd[ow-1],
// even[ow], odd[ow]) for ow in [1, wo): value and column offset (0..2).
TESSERA_TARGET_CLONES
void row_windows(const float* even, const float* odd, int wo, float* value, std::int32_t* col) {
  int ow = 1;
  for (; ow + 8 <= wo; ow += 8) {
    V8 v = *reinterpret_cast<const V8*>(odd + ow - 1);
    V8i k = V8i{};
    const V8 b = *reinterpret_cast<const V8*>(even + ow),
             c = *reinterpret_cast<const V8*>(odd + ow);
    const V8i tb = beats8(b, v);
    v = tb ? b : v;
    k = tb ? V8i{} + 1 : k;
    const V8i tc = beats8(c, v);
    v = tc ? c : v;
    k = tc ? V8i{} + 2 : k;
    *reinterpret_cast<V8*>(value + ow) = v;
    *reinterpret_cast<V8i*>(col + ow) = k;
  }
  for (; ow < wo; ++ow) {
    float v = odd[ow - 1];
    std::int32_t k = 0;
    if (beats(even[ow], v)) v = even[ow], k = 1;
    if (beats(odd[ow], v)) v = odd[ow], k = 2;
    value[ow] = v, col[ow] = k;
  }
}

// One output row from the window maxima of its `rows` (2 or 3) input rows,
// the first of which is window row dy0: the first maximum in row-major order
// of the whole window, as ATen's single pass finds it. Always inlined, so
// that each CPU clone below compiles it for its own instruction set.
template <typename T>
__attribute__((always_inline)) inline void column_windows(const float* v0, const std::int32_t* c0,
                                                          int dy0, int rows, int wo, T* out,
                                                          std::uint8_t* pos) {
  int ow = 0;
  for (; ow + 8 <= wo; ow += 8) {
    V8 v = *reinterpret_cast<const V8*>(v0 + ow);
    V8i k = *reinterpret_cast<const V8i*>(c0 + ow) + dy0 * 3;
    for (int r = 1; r < rows; ++r) {
      const V8 u = *reinterpret_cast<const V8*>(v0 + r * wo + ow);
      const V8i t = beats8(u, v);
      v = t ? u : v;
      k = t ? *reinterpret_cast<const V8i*>(c0 + r * wo + ow) + (dy0 + r) * 3 : k;
    }
    store8(v, out + ow);
    for (int i = 0; i < 8; ++i) pos[ow + i] = std::uint8_t(k[i]);
  }
  for (; ow < wo; ++ow) {
    float v = v0[ow];
    std::int32_t k = dy0 * 3 + c0[ow];
    for (int r = 1; r < rows; ++r) {
      if (beats(v0[r * wo + ow], v)) v = v0[r * wo + ow], k = (dy0 + r) * 3 + c0[r * wo + ow];
    }
    out[ow] = T(v);
    pos[ow] = std::uint8_t(k);
  }
}

TESSERA_TARGET_CLONES
void column_windows_f32(const float* v0, const std::int32_t* c0, int dy0, int rows, int wo,
                        float* out, std::uint8_t* pos) {
  column_windows(v0, c0, dy0, rows, wo, out, pos);
}

TESSERA_TARGET_CLONES
void column_windows_bf16(const float* v0, const std::int32_t* c0, int dy0, int rows, int wo,
                         c10::BFloat16* out, std::uint8_t* pos) {
  column_windows(v0, c0, dy0, rows, wo, out, pos);
}

// Per-thread buffers of pool_plane.
struct PoolScratch {
  std::vector<float> even, odd, value;
  std::vector<std::int32_t> col;
  PoolScratch(int h, int w)
      : even(std::size_t(pooled_size(w))),
        odd(std::size_t(pooled_size(w))),
        value(std::size_t(h) * pooled_size(w)),
        col(value.size()) {}
};

// One plane: each output is the maximum of its window (rows 2*oh-1 ..
// 2*oh+1, columns likewise, clipped) and `pos` records where it was, as
// dy * 3 + dx. Rows are reduced first (each serves two windows), then each
// window's two or three row maxima.
template <typename T>
void pool_plane(const T* in, T* out, std::uint8_t* pos, int h, int w, PoolScratch& s) {
  const int ho = pooled_size(h), wo = pooled_size(w);
  for (int r = 0; r < h; ++r) {
    split_row(in + std::int64_t(r) * w, w, s.even.data(), s.odd.data());
    float* value = s.value.data() + std::int64_t(r) * wo;
    std::int32_t* col = s.col.data() + std::int64_t(r) * wo;
    // The first window lacks column -1: it starts at column 0 (offset 1),
    // where a window of -inf keeps its maximum.
    value[0] = s.even[0], col[0] = 1;
    if (w > 1 && beats(s.odd[0], value[0])) value[0] = s.odd[0], col[0] = 2;
    row_windows(s.even.data(), s.odd.data(), wo, value, col);
  }
  for (int oh = 0; oh < ho; ++oh) {
    const int h0 = 2 * oh - 1;
    const int dy0 = h0 < 0 ? 1 : 0, dy1 = h0 + 2 < h ? 2 : h - 1 - h0;
    const float* v0 = s.value.data() + std::int64_t(h0 + dy0) * wo;
    const std::int32_t* c0 = s.col.data() + std::int64_t(h0 + dy0) * wo;
    T* o = out + std::int64_t(oh) * wo;
    std::uint8_t* p = pos + std::int64_t(oh) * wo;
    if constexpr (std::is_same_v<T, float>)
      column_windows_f32(v0, c0, dy0, dy1 - dy0 + 1, wo, o, p);
    else
      column_windows_bf16(v0, c0, dy0, dy1 - dy0 + 1, wo, o, p);
  }
}

// The gradient of one plane: each output's gradient goes to the input its
// maximum came from, summed in fp32 where windows overlap, then stored.
template <typename T>
void unpool_plane(const T* grad_out, const std::uint8_t* pos, float* acc, T* grad_in, int h,
                  int w) {
  const int ho = pooled_size(h), wo = pooled_size(w);
  const std::int64_t n = std::int64_t(h) * w;
  std::memset(acc, 0, std::size_t(n) * sizeof(float));
  // Window position p = dy * 3 + dx relative to the window's centre (2oh, 2ow).
  std::int64_t offset[9];
  for (int p = 0; p < 9; ++p) offset[p] = std::int64_t(p / 3 - 1) * w + (p % 3 - 1);
  for (int oh = 0; oh < ho; ++oh) {
    float* centre_row = acc + std::int64_t(2 * oh) * w;
    for (int ow = 0; ow < wo; ++ow)
      centre_row[2 * ow + offset[pos[oh * wo + ow]]] += float(grad_out[oh * wo + ow]);
  }
  for (std::int64_t k = 0; k < n; ++k) grad_in[k] = T(acc[k]);
}

template <typename T>
void pool_all(const torch::Tensor& x, torch::Tensor& out, torch::Tensor& pos) {
  const int h = int(x.size(2)), w = int(x.size(3));
  const std::int64_t in_plane = std::int64_t(h) * w, out_plane = out.size(2) * out.size(3);
  const T* in = x.data_ptr<T>();
  T* o = out.data_ptr<T>();
  std::uint8_t* p = pos.data_ptr<std::uint8_t>();
  at::parallel_for(0, x.size(0) * x.size(1), 1, [&](std::int64_t b, std::int64_t e) {
    PoolScratch scratch(h, w);
    for (std::int64_t i = b; i < e; ++i)
      pool_plane(in + i * in_plane, o + i * out_plane, p + i * out_plane, h, w, scratch);
  });
}

template <typename T>
void unpool_all(const torch::Tensor& g, const torch::Tensor& pos, torch::Tensor& grad_in) {
  const int h = int(grad_in.size(2)), w = int(grad_in.size(3));
  const std::int64_t in_plane = std::int64_t(h) * w, out_plane = pos.size(2) * pos.size(3);
  const T* go = g.data_ptr<T>();
  const std::uint8_t* p = pos.data_ptr<std::uint8_t>();
  T* gi = grad_in.data_ptr<T>();
  at::parallel_for(0, pos.size(0) * pos.size(1), 1, [&](std::int64_t b, std::int64_t e) {
    std::vector<float> acc(static_cast<std::size_t>(in_plane));
    for (std::int64_t i = b; i < e; ++i)
      unpool_plane(go + i * out_plane, p + i * out_plane, acc.data(), gi + i * in_plane, h, w);
  });
}

// Channels-last bf16 (the layout of bf16 training, conv.h): the channels of
// one position are contiguous, so each window is 9 vector loads of 32
// channels at a time, compared with the same rule as above, and each
// channel's window position is kept in 16 bits (so that the positions of
// 32 channels move as one vector of words, the even channel in the low
// half: V32's order). The gradient gathers, for each input position, the
// outputs whose windows hold it (up to 4, in output order: the order in
// which the NCHW kernel and ATen add them), in fp32, and is written once:
// no zero-filled gradient, no separate pass.

// The window rows (or columns) of output o along a dimension of size n:
// the window starts at `start` (2o - 1, maybe outside the map); [first,
// last] is its part inside the map.
struct Span {
  std::int64_t start, first, last;
};
inline Span window_span(std::int64_t o, std::int64_t n) {
  const std::int64_t start = 2 * o - 1;
  return {start, std::max<std::int64_t>(start, 0), std::min(start + 2, n - 1)};
}

// The window position (dy * 3 + dx) of input (y, x).
inline int window_position(const Span& ys, const Span& xs, std::int64_t y, std::int64_t x) {
  return int((y - ys.start) * 3 + (x - xs.start));
}

// The outputs o along a dimension of n outputs whose windows [2o - 1,
// 2o + 1] hold input coordinate y, in order, with y's offset in each.
inline int holders(std::int64_t y, std::int64_t n, std::int64_t* o, std::int64_t* d) {
  int m = 0;
  for (std::int64_t k = y / 2; k <= (y + 1) / 2 && k < n; ++k) o[m] = k, d[m] = y - (2 * k - 1), ++m;
  return m;
}

// The stem's batch norm folded into the NHWC pool (batch_norm_max_pool_3x3_s2).
// bn(x) = x * scale + offset is monotone in x where scale >= 0 and in -x
// where scale < 0, so each window's maximum of bn(x) is bn() of the
// maximum of x with the scale's sign bit (`flip`) set: the pool compares x
// and normalises only its outputs. Per-channel constants are in V32 order.
struct PoolNorm {
  const std::uint32_t* flip;  // 0x80000000 where scale < 0, else 0
  const float *scale, *offset;
};
// The gradient: each input's gradient gm, gathered from its windows, gives
// dx = gm * scale + (x - mean) * slope + offset (BatchNormGradient).
struct UnpoolNorm {
  const float *mean, *scale, *slope, *offset;
};

// Channels [c0, c) of output position ow of row oh, one at a time: in
// [H, W, C], out, pos and at_max (with nm) the position's [C].
void pool_channels(const bf16* in, bf16* out, std::uint16_t* pos, std::int64_t w, std::int64_t c,
                   const Span& ys, const Span& xs, std::int64_t c0, const PoolNorm* nm,
                   bf16* at_max) {
  for (; c0 < c; ++c0) {
    const std::int64_t lane = simd::lane_of(c0, c);
    const bool flip = nm && nm->flip[lane];
    float best = -std::numeric_limits<float>::infinity();
    // A window of -inf keeps its first element, which is inside the map.
    int k = window_position(ys, xs, ys.first, xs.first);
    for (std::int64_t y = ys.first; y <= ys.last; ++y) {
      for (std::int64_t x = xs.first; x <= xs.last; ++x) {
        const float v = float(in[(y * w + x) * c + c0]);
        const float key = flip ? -v : v;
        if (beats(key, best)) best = key, k = window_position(ys, xs, y, x);
      }
    }
    if (nm) {
      const float v = flip ? -best : best;
      at_max[c0] = bf16(v);
      out[c0] = bf16(v * nm->scale[lane] + nm->offset[lane]);
    } else {
      out[c0] = bf16(best);
    }
    pos[c0] = std::uint16_t(k);
  }
}

// The gradient of channels [c0, c) of input position x of row y, one at a
// time: g and pos [Ho, Wo, C], out and x_at (with nm: the input's values)
// the position's [C].
void unpool_channels(const bf16* g, const std::uint16_t* pos, bf16* out, std::int64_t c,
                     std::int64_t wo, const std::int64_t* oy, const std::int64_t* dy, int ny,
                     const std::int64_t* ox, const std::int64_t* dx, int nx, std::int64_t c0,
                     const UnpoolNorm* nm, const bf16* x_at) {
  for (; c0 < c; ++c0) {
    float acc = 0;
    for (int i = 0; i < ny; ++i) {
      for (int j = 0; j < nx; ++j) {
        const std::int64_t at = (oy[i] * wo + ox[j]) * c + c0;
        if (pos[at] == dy[i] * 3 + dx[j]) acc += float(g[at]);
      }
    }
    if (nm) {
      const std::int64_t l = simd::lane_of(c0, c);
      acc = acc * nm->scale[l] + nm->slope[l] * (float(x_at[c0]) - nm->mean[l]) + nm->offset[l];
    }
    out[c0] = bf16(acc);
  }
}

// The 32-channel vector paths, AVX-512 only; each returns the channels it
// did. GCC 12 compiles the mask arithmetic of these loops lane by lane in
// TESSERA_TARGET_CLONES clones (and in always-inlined helpers), 30x slower
// than LibTorch's pooling; in a function of this target it uses mask
// registers. Other CPUs take the channel-at-a-time loops above for every
// channel.
#if defined(__GNUC__) && defined(__x86_64__)
bool has_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
}

template <bool kNorm>
__attribute__((target("avx512f"))) std::int64_t pool_vectors(const bf16* in, bf16* out,
                                                             std::uint16_t* pos, std::int64_t w,
                                                             std::int64_t c, const Span& ys,
                                                             const Span& xs, const PoolNorm* nm,
                                                             bf16* at_max) {
  std::int64_t c0 = 0;
  for (; c0 + 32 <= c; c0 += 32) {
    const V16 lowest = V16{} - std::numeric_limits<float>::infinity();
    V16 be = lowest, bo = lowest;
    V16i ke = V16i{} + window_position(ys, xs, ys.first, xs.first), ko = ke;
    V16u fe{}, fo{};
    if (kNorm) {
      fe = *reinterpret_cast<const V16u*>(nm->flip + c0);
      fo = *reinterpret_cast<const V16u*>(nm->flip + c0 + 16);
    }
    for (std::int64_t y = ys.first; y <= ys.last; ++y) {
      for (std::int64_t x = xs.first; x <= xs.last; ++x) {
        V32 v = simd::load32(in + (y * w + x) * c + c0);
        if (kNorm) v = {(V16)((V16u)v.e ^ fe), (V16)((V16u)v.o ^ fo)};
        const V16i k = V16i{} + window_position(ys, xs, y, x);
        // ATen's rule, beats(): larger, or NaN.
        const V16i te = (v.e > be) | (v.e != v.e), to = (v.o > bo) | (v.o != v.o);
        be = te ? v.e : be;
        bo = to ? v.o : bo;
        ke = te ? k : ke;
        ko = to ? k : ko;
      }
    }
    if (kNorm) {
      // The maxima's x values (bf16 already: stored exactly), and bn() of them.
      const V32 best{(V16)((V16u)be ^ fe), (V16)((V16u)bo ^ fo)};
      simd::store32(best, at_max + c0);
      simd::store32(best * simd::load32(nm->scale + c0) + simd::load32(nm->offset + c0), out + c0);
    } else {
      simd::store32(V32{be, bo}, out + c0);
    }
    *reinterpret_cast<simd::V16w*>(pos + c0) = (V16u)(ke & 0xffff) | ((V16u)ko << 16);
  }
  return c0;
}

template <bool kNorm>
__attribute__((target("avx512f"))) std::int64_t unpool_vectors(
    const bf16* g, const std::uint16_t* pos, bf16* out, std::int64_t c, std::int64_t wo,
    const std::int64_t* oy, const std::int64_t* dy, int ny, const std::int64_t* ox,
    const std::int64_t* dx, int nx, const UnpoolNorm* nm, const bf16* x_at) {
  std::int64_t c0 = 0;
  for (; c0 + 32 <= c; c0 += 32) {
    V16 ae{}, ao{};
    for (int i = 0; i < ny; ++i) {
      for (int j = 0; j < nx; ++j) {
        const std::int64_t at = (oy[i] * wo + ox[j]) * c + c0;
        const V16i k = V16i{} + std::int32_t(dy[i] * 3 + dx[j]);
        const V32 gv = simd::load32(g + at);
        const V16u words = *reinterpret_cast<const simd::V16w*>(pos + at);
        const V16i pe = (V16i)(words & 0xffffu), po = (V16i)(words >> 16);
        ae += (pe == k) ? gv.e : V16{};
        ao += (po == k) ? gv.o : V16{};
      }
    }
    V32 a{ae, ao};
    if (kNorm) {
      using simd::load32;
      a = a * load32(nm->scale + c0) +
          load32(nm->slope + c0) * (load32(x_at + c0) - load32(nm->mean + c0)) +
          load32(nm->offset + c0);
    }
    simd::store32(a, out + c0);
  }
  return c0;
}
#else
bool has_avx512() {
  return false;
}
template <bool kNorm>
std::int64_t pool_vectors(const bf16*, bf16*, std::uint16_t*, std::int64_t, std::int64_t,
                          const Span&, const Span&, const PoolNorm*, bf16*) {
  return 0;
}
template <bool kNorm>
std::int64_t unpool_vectors(const bf16*, const std::uint16_t*, bf16*, std::int64_t, std::int64_t,
                            const std::int64_t*, const std::int64_t*, int, const std::int64_t*,
                            const std::int64_t*, int, const UnpoolNorm*, const bf16*) {
  return 0;
}
#endif

// One output row oh of one image: in [H, W, C], out, pos and at_max (with
// nm) [Wo, C].
void pool_row_nhwc(const bf16* in, bf16* out, std::uint16_t* pos, std::int64_t h, std::int64_t w,
                   std::int64_t c, std::int64_t oh, std::int64_t wo, const PoolNorm* nm = nullptr,
                   bf16* at_max = nullptr) {
  const Span ys = window_span(oh, h);
  const bool vectors = has_avx512();
  for (std::int64_t ow = 0; ow < wo; ++ow) {
    const Span xs = window_span(ow, w);
    const std::int64_t o = ow * c;
    bf16* m = nm ? at_max + o : nullptr;
    std::int64_t c0 = 0;
    if (vectors) {
      c0 = nm ? pool_vectors<true>(in, out + o, pos + o, w, c, ys, xs, nm, m)
              : pool_vectors<false>(in, out + o, pos + o, w, c, ys, xs, nullptr, nullptr);
    }
    pool_channels(in, out + o, pos + o, w, c, ys, xs, c0, nm, m);
  }
}

// One input row y of one image's gradient: g and pos [Ho, Wo, C], gin and
// x_row (with nm: the input's values) [W, C].
void unpool_row_nhwc(const bf16* g, const std::uint16_t* pos, bf16* gin, std::int64_t w,
                     std::int64_t c, std::int64_t y, std::int64_t ho, std::int64_t wo,
                     const UnpoolNorm* nm = nullptr, const bf16* x_row = nullptr) {
  std::int64_t oy[2], dy[2], ox[2], dx[2];
  const int ny = holders(y, ho, oy, dy);
  const bool vectors = has_avx512();
  for (std::int64_t x = 0; x < w; ++x) {
    const int nx = holders(x, wo, ox, dx);
    const bf16* x_at = nm ? x_row + x * c : nullptr;
    std::int64_t c0 = 0;
    if (vectors) {
      c0 = nm ? unpool_vectors<true>(g, pos, gin + x * c, c, wo, oy, dy, ny, ox, dx, nx, nm, x_at)
              : unpool_vectors<false>(g, pos, gin + x * c, c, wo, oy, dy, ny, ox, dx, nx, nullptr,
                                      nullptr);
    }
    unpool_channels(g, pos, gin + x * c, c, wo, oy, dy, ny, ox, dx, nx, c0, nm, x_at);
  }
}

// Every output row of the NHWC pool: x [N, H, W, C] (an NHWC tensor); out,
// pos and at_max (with nm) [N, Ho, Wo, C].
void pool_nhwc(const torch::Tensor& x, torch::Tensor& out, torch::Tensor& pos,
               const PoolNorm* nm = nullptr, torch::Tensor* at_max = nullptr) {
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const std::int64_t ho = pos.size(1), wo = pos.size(2);
  const bf16* in = x.data_ptr<bf16>();
  bf16* o = out.data_ptr<bf16>();
  bf16* m = nm ? at_max->data_ptr<bf16>() : nullptr;
  auto* p = reinterpret_cast<std::uint16_t*>(pos.data_ptr<std::int16_t>());
  at::parallel_for(0, n * ho, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) {
      const std::int64_t image = i / ho, oh = i % ho, row = i * wo * c;
      pool_row_nhwc(in + image * h * w * c, o + row, p + row, h, w, c, oh, wo, nm,
                    m ? m + row : nullptr);
    }
  });
}

// Every input row of its gradient: g and pos [N, Ho, Wo, C]; grad_in and x
// (with nm) [N, H, W, C].
void unpool_nhwc(const torch::Tensor& g, const torch::Tensor& pos, torch::Tensor& grad_in,
                 const UnpoolNorm* nm = nullptr, const torch::Tensor& x = {}) {
  const std::int64_t n = pos.size(0), ho = pos.size(1), wo = pos.size(2), c = pos.size(3);
  const std::int64_t h = grad_in.size(2), w = grad_in.size(3);
  const bf16* go = g.data_ptr<bf16>();
  const bf16* in = nm ? x.data_ptr<bf16>() : nullptr;
  const auto* p = reinterpret_cast<const std::uint16_t*>(pos.data_ptr<std::int16_t>());
  bf16* gi = grad_in.data_ptr<bf16>();
  at::parallel_for(0, n * h, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) {
      const std::int64_t image = i / h, y = i % h;
      unpool_row_nhwc(go + image * ho * wo * c, p + image * ho * wo * c, gi + i * w * c, w, c, y,
                      ho, wo, nm, in ? in + i * w * c : nullptr);
    }
  });
}

class MaxPool3x3S2Nhwc : public torch::autograd::Function<MaxPool3x3S2Nhwc> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x) {
    const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    const std::int64_t ho = pooled_size(h), wo = pooled_size(w);
    const auto nhwc = at::MemoryFormat::ChannelsLast;
    torch::Tensor out = torch::empty({n, c, ho, wo}, x.options().memory_format(nhwc));
    // [N, Ho, Wo, C]: the window positions (dy * 3 + dx), 16 bits each.
    torch::Tensor pos = torch::empty({n, ho, wo, c}, x.options().dtype(torch::kInt16));
    pool_nhwc(x, out, pos);
    ctx->save_for_backward({pos});
    ctx->saved_data["h"] = h;
    ctx->saved_data["w"] = w;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const torch::Tensor pos = ctx->get_saved_variables()[0];
    const std::int64_t h = ctx->saved_data["h"].toInt(), w = ctx->saved_data["w"].toInt();
    const std::int64_t n = pos.size(0), c = pos.size(3);
    const auto nhwc = at::MemoryFormat::ChannelsLast;
    const torch::Tensor g = grads[0].to(torch::kBFloat16).contiguous(nhwc);
    torch::Tensor grad_in = torch::empty({n, c, h, w}, g.options().memory_format(nhwc));
    unpool_nhwc(g, pos, grad_in);
    return {grad_in};
  }
};

// max_pool_3x3_s2(batch_norm(x)) on bf16 NHWC x: the statistics pass over
// x, then the pool of x (PoolNorm), which writes only the pooled outputs,
// their window positions and the x values of their maxima. The backward
// sums the batch norm's gradient over the pooled outputs (the only inputs
// with a gradient are their maxima), then writes each input's gradient in
// one pass: gathered from its windows in fp32 and put through the batch
// norm's backward before it is rounded.
class BatchNormMaxPool : public torch::autograd::Function<BatchNormMaxPool> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               torch::Tensor running_mean, torch::Tensor running_var,
                               double momentum, double eps) {
    RECORD_FUNCTION("tessera::batch_norm_max_pool", std::vector<c10::IValue>());
    const BatchNormStatistics st =
        batch_norm_statistics(x, weight, bias, running_mean, running_var, momentum, eps);
    const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    const std::int64_t ho = pooled_size(h), wo = pooled_size(w);
    const std::vector<float> scale = simd::to_lanes(st.scale), offset = simd::to_lanes(st.offset);
    std::vector<std::uint32_t> flip(scale.size());
    for (std::size_t i = 0; i < flip.size(); ++i) flip[i] = std::signbit(scale[i]) ? 0x80000000u : 0;
    const PoolNorm nm{flip.data(), scale.data(), offset.data()};
    const auto nhwc = at::MemoryFormat::ChannelsLast;
    torch::Tensor out = torch::empty({n, c, ho, wo}, x.options().memory_format(nhwc));
    torch::Tensor pos = torch::empty({n, ho, wo, c}, x.options().dtype(torch::kInt16));
    torch::Tensor at_max = torch::empty({n, ho, wo, c}, x.options());
    pool_nhwc(x, out, pos, &nm, &at_max);
    ctx->save_for_backward({x, pos, at_max, weight});
    ctx->saved_data["mean"] = st.mean;
    ctx->saved_data["invstd"] = st.invstd;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &pos = saved[1], &at_max = saved[2], &weight = saved[3];
    const auto nhwc = at::MemoryFormat::ChannelsLast;
    const torch::Tensor g = grads[0].to(torch::kBFloat16).contiguous(nhwc);
    const BatchNormGradient bg =
        batch_norm_gradient(g, torch::Tensor(), at_max, ctx->saved_data["mean"].toTensor(),
                            ctx->saved_data["invstd"].toTensor(), weight, x.numel() / x.size(1));
    const std::vector<float> mean_lanes = simd::to_lanes(bg.mean),
                             scale = simd::to_lanes(bg.scale), slope = simd::to_lanes(bg.slope),
                             offset = simd::to_lanes(bg.offset);
    const UnpoolNorm nm{mean_lanes.data(), scale.data(), slope.data(), offset.data()};
    torch::Tensor dx = torch::empty_like(x, x.options(), nhwc);
    unpool_nhwc(g, pos, dx, &nm, x);
    return {dx, bg.dweight, bg.dbias, {}, {}, {}, {}};
  }
};

class MaxPool3x3S2 : public torch::autograd::Function<MaxPool3x3S2> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x) {
    const int h = int(x.size(2)), w = int(x.size(3));
    torch::Tensor out =
        torch::empty({x.size(0), x.size(1), pooled_size(h), pooled_size(w)}, x.options());
    torch::Tensor pos = torch::empty(out.sizes(), x.options().dtype(torch::kUInt8));
    if (x.scalar_type() == torch::kFloat32)
      pool_all<float>(x, out, pos);
    else
      pool_all<c10::BFloat16>(x, out, pos);
    ctx->save_for_backward({pos});
    ctx->saved_data["h"] = std::int64_t(h);
    ctx->saved_data["w"] = std::int64_t(w);
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const torch::Tensor pos = ctx->get_saved_variables()[0];
    const int h = int(ctx->saved_data["h"].toInt()), w = int(ctx->saved_data["w"].toInt());
    const torch::Tensor g = grads[0].contiguous();
    torch::Tensor grad_in = torch::empty({pos.size(0), pos.size(1), h, w}, g.options());
    if (g.scalar_type() == torch::kFloat32)
      unpool_all<float>(g, pos, grad_in);
    else if (g.scalar_type() == torch::kBFloat16)
      unpool_all<c10::BFloat16>(g, pos, grad_in);
    else
      throw std::logic_error("max_pool_3x3_s2: gradient of dtype " +
                             std::string(c10::toString(g.scalar_type())));
    return {grad_in};
  }
};

}  // namespace

torch::Tensor max_pool_3x3_s2(const torch::Tensor& x) {
  const bool cpu = x.dim() == 4 && x.device().is_cpu() && x.size(2) > 0 && x.size(3) > 0;
  // NHWC-only layouts (with one channel, or 1x1 maps, a tensor is both).
  if (cpu && x.scalar_type() == torch::kBFloat16 && !x.is_contiguous() &&
      x.is_contiguous(at::MemoryFormat::ChannelsLast))
    return MaxPool3x3S2Nhwc::apply(x);
  const bool ours = cpu && x.is_contiguous() &&
                    (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16);
  if (!ours) return torch::max_pool2d(x, 3, 2, 1);
  return MaxPool3x3S2::apply(x);
}

torch::Tensor batch_norm_max_pool_3x3_s2(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn) {
  // batch_norm_fused also rules out empty maps (it wants two rows or more).
  if (!batch_norm_fused(x, bn)) return max_pool_3x3_s2(batch_norm(x, bn, /*relu=*/false));
  const double momentum = count_batch(bn);
  return BatchNormMaxPool::apply(x, bn.weight, bn.bias, bn.running_mean, bn.running_var, momentum,
                                 bn.options.eps());
}

}  // namespace tessera::model
