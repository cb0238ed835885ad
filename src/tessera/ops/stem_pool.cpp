#include "tessera/ops/stem_pool.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <ATen/record_function.h>

#include "tessera/ops/batch_norm.h"
#include "tessera/ops/bf16_vector.h"
#include "tessera/ops/lane_order.h"
#include "tessera/ops/parallel.h"

namespace tessera::ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using simd::V16;
using simd::V16i;
using simd::V16u;
using simd::V32;
using bf16 = c10::BFloat16;

int pooled_size(std::int64_t n) {
  return int((n + 1) / 2);  // (n + 2 * 1 - 3) / 2 + 1
}

// A value beats the running maximum if it is larger or NaN: ATen's rule,
// under which the first maximum of a window wins and its last NaN, if any.
inline bool beats(float v, float best) {
  return v > best || std::isnan(v);
}

// Channels-last bf16 (the layout of bf16 training, conv.h): the channels of
// one position are contiguous, so each window is 9 vector loads of 32
// channels at a time, compared with beats(), and each channel's window
// position is kept in 16 bits (so that the positions of 32 channels move as
// one vector of words, the even channel in the low half: V32's order). The
// gradient gathers, for each input position, the outputs whose windows hold
// it (up to 4, in output order: the order in which ATen adds them), in
// fp32, and is written once: no zero-filled gradient, no separate pass.

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
  for (std::int64_t k = y / 2; k <= (y + 1) / 2 && k < n; ++k)
    o[m] = k, d[m] = y - (2 * k - 1), ++m;
  return m;
}

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
// [H, W, C], out, pos and at_max the position's [C].
void pool_channels(const bf16* in, bf16* out, std::uint16_t* pos, std::int64_t w, std::int64_t c,
                   const Span& ys, const Span& xs, std::int64_t c0, const PoolNorm& nm,
                   bf16* at_max) {
  for (; c0 < c; ++c0) {
    const std::int64_t lane = simd::lane_of(c0, c);
    const bool flip = nm.flip[lane];
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
    const float v = flip ? -best : best;
    at_max[c0] = bf16(v);
    out[c0] = bf16(v * nm.scale[lane] + nm.offset[lane]);
    pos[c0] = std::uint16_t(k);
  }
}

// The gradient of channels [c0, c) of input position x of row y, one at a
// time: g and pos [Ho, Wo, C], out and x_at (the input's values) the
// position's [C].
void unpool_channels(const bf16* g, const std::uint16_t* pos, bf16* out, std::int64_t c,
                     std::int64_t wo, const std::int64_t* oy, const std::int64_t* dy, int ny,
                     const std::int64_t* ox, const std::int64_t* dx, int nx, std::int64_t c0,
                     const UnpoolNorm& nm, const bf16* x_at) {
  for (; c0 < c; ++c0) {
    float acc = 0;
    for (int i = 0; i < ny; ++i) {
      for (int j = 0; j < nx; ++j) {
        const std::int64_t at = (oy[i] * wo + ox[j]) * c + c0;
        if (pos[at] == dy[i] * 3 + dx[j]) acc += float(g[at]);
      }
    }
    const std::int64_t l = simd::lane_of(c0, c);
    acc = acc * nm.scale[l] + nm.slope[l] * (float(x_at[c0]) - nm.mean[l]) + nm.offset[l];
    out[c0] = bf16(acc);
  }
}

// The 32-channel vector paths, AVX-512 only; each returns the channels it
// did. GCC 12 compiles the mask arithmetic of these loops lane by lane in
// TESSERA_SIMD_DISPATCH variants (and in always-inlined helpers), many times
// slower than LibTorch's pooling; in a function of this target it uses mask
// registers. Other CPUs take the channel-at-a-time loops above for every
// channel.
#if defined(__GNUC__) && defined(__x86_64__)
bool has_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
}

__attribute__((target("avx512f"))) std::int64_t pool_vectors(const bf16* in, bf16* out,
                                                             std::uint16_t* pos, std::int64_t w,
                                                             std::int64_t c, const Span& ys,
                                                             const Span& xs, const PoolNorm& nm,
                                                             bf16* at_max) {
  std::int64_t c0 = 0;
  for (; c0 + 32 <= c; c0 += 32) {
    const V16 lowest = V16{} - std::numeric_limits<float>::infinity();
    V16 be = lowest, bo = lowest;
    V16i ke = V16i{} + window_position(ys, xs, ys.first, xs.first), ko = ke;
    const V16u fe = *reinterpret_cast<const V16u*>(nm.flip + c0);
    const V16u fo = *reinterpret_cast<const V16u*>(nm.flip + c0 + 16);
    for (std::int64_t y = ys.first; y <= ys.last; ++y) {
      for (std::int64_t x = xs.first; x <= xs.last; ++x) {
        V32 v = simd::load32(in + (y * w + x) * c + c0);
        v = {(V16)((V16u)v.e ^ fe), (V16)((V16u)v.o ^ fo)};
        const V16i k = V16i{} + window_position(ys, xs, y, x);
        // ATen's rule, beats(): larger, or NaN.
        const V16i te = (v.e > be) | (v.e != v.e), to = (v.o > bo) | (v.o != v.o);
        be = te ? v.e : be;
        bo = to ? v.o : bo;
        ke = te ? k : ke;
        ko = to ? k : ko;
      }
    }
    // The maxima's x values (bf16 already: stored exactly), and bn() of them.
    const V32 best{(V16)((V16u)be ^ fe), (V16)((V16u)bo ^ fo)};
    simd::store32(best, at_max + c0);
    simd::store32(best * simd::load32(nm.scale + c0) + simd::load32(nm.offset + c0), out + c0);
    *reinterpret_cast<simd::V16w*>(pos + c0) = (V16u)(ke & 0xffff) | ((V16u)ko << 16);
  }
  return c0;
}

__attribute__((target("avx512f"))) std::int64_t unpool_vectors(
    const bf16* g, const std::uint16_t* pos, bf16* out, std::int64_t c, std::int64_t wo,
    const std::int64_t* oy, const std::int64_t* dy, int ny, const std::int64_t* ox,
    const std::int64_t* dx, int nx, const UnpoolNorm& nm, const bf16* x_at) {
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
    using simd::load32;
    const V32 a = V32{ae, ao} * load32(nm.scale + c0) +
                  load32(nm.slope + c0) * (load32(x_at + c0) - load32(nm.mean + c0)) +
                  load32(nm.offset + c0);
    simd::store32(a, out + c0);
  }
  return c0;
}
#else
bool has_avx512() {
  return false;
}
std::int64_t pool_vectors(const bf16*, bf16*, std::uint16_t*, std::int64_t, std::int64_t,
                          const Span&, const Span&, const PoolNorm&, bf16*) {
  return 0;
}
std::int64_t unpool_vectors(const bf16*, const std::uint16_t*, bf16*, std::int64_t, std::int64_t,
                            const std::int64_t*, const std::int64_t*, int, const std::int64_t*,
                            const std::int64_t*, int, const UnpoolNorm&, const bf16*) {
  return 0;
}
#endif

// One output row oh of one image: in [H, W, C], out, pos and at_max [Wo, C].
void pool_row_nhwc(const bf16* in, bf16* out, std::uint16_t* pos, std::int64_t h, std::int64_t w,
                   std::int64_t c, std::int64_t oh, std::int64_t wo, const PoolNorm& nm,
                   bf16* at_max) {
  const Span ys = window_span(oh, h);
  const bool vectors = has_avx512();
  for (std::int64_t ow = 0; ow < wo; ++ow) {
    const Span xs = window_span(ow, w);
    const std::int64_t o = ow * c;
    const std::int64_t c0 =
        vectors ? pool_vectors(in, out + o, pos + o, w, c, ys, xs, nm, at_max + o) : 0;
    pool_channels(in, out + o, pos + o, w, c, ys, xs, c0, nm, at_max + o);
  }
}

// One input row y of one image's gradient: g and pos [Ho, Wo, C], gin and
// x_row (the input's values) [W, C].
void unpool_row_nhwc(const bf16* g, const std::uint16_t* pos, bf16* gin, std::int64_t w,
                     std::int64_t c, std::int64_t y, std::int64_t ho, std::int64_t wo,
                     const UnpoolNorm& nm, const bf16* x_row) {
  std::int64_t oy[2], dy[2], ox[2], dx[2];
  const int ny = holders(y, ho, oy, dy);
  const bool vectors = has_avx512();
  for (std::int64_t x = 0; x < w; ++x) {
    const int nx = holders(x, wo, ox, dx);
    const bf16* x_at = x_row + x * c;
    const std::int64_t c0 =
        vectors ? unpool_vectors(g, pos, gin + x * c, c, wo, oy, dy, ny, ox, dx, nx, nm, x_at) : 0;
    unpool_channels(g, pos, gin + x * c, c, wo, oy, dy, ny, ox, dx, nx, c0, nm, x_at);
  }
}

// Every output row of the pool: x [N, H, W, C] (an NHWC tensor); out, pos
// and at_max [N, Ho, Wo, C].
void pool_nhwc(const torch::Tensor& x, torch::Tensor& out, torch::Tensor& pos, const PoolNorm& nm,
               torch::Tensor& at_max) {
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const std::int64_t ho = pos.size(1), wo = pos.size(2);
  const bf16* in = x.data_ptr<bf16>();
  bf16* o = out.data_ptr<bf16>();
  bf16* m = at_max.data_ptr<bf16>();
  auto* p = reinterpret_cast<std::uint16_t*>(pos.data_ptr<std::int16_t>());
  at::parallel_for(0, n * ho, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) {
      const std::int64_t image = i / ho, oh = i % ho, row = i * wo * c;
      pool_row_nhwc(in + image * h * w * c, o + row, p + row, h, w, c, oh, wo, nm, m + row);
    }
  });
}

// Every input row of its gradient: g and pos [N, Ho, Wo, C]; grad_in and x
// [N, H, W, C].
void unpool_nhwc(const torch::Tensor& g, const torch::Tensor& pos, torch::Tensor& grad_in,
                 const UnpoolNorm& nm, const torch::Tensor& x) {
  const std::int64_t n = pos.size(0), ho = pos.size(1), wo = pos.size(2), c = pos.size(3);
  const std::int64_t h = grad_in.size(2), w = grad_in.size(3);
  const bf16* go = g.data_ptr<bf16>();
  const bf16* in = x.data_ptr<bf16>();
  const auto* p = reinterpret_cast<const std::uint16_t*>(pos.data_ptr<std::int16_t>());
  bf16* gi = grad_in.data_ptr<bf16>();
  at::parallel_for(0, n * h, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) {
      const std::int64_t image = i / h, y = i % h;
      unpool_row_nhwc(go + image * ho * wo * c, p + image * ho * wo * c, gi + i * w * c, w, c, y,
                      ho, wo, nm, in + i * w * c);
    }
  });
}

// max_pool2d(batch_norm(x), 3, 2, 1) on bf16 NHWC x: the statistics pass over
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
                               double momentum, double eps, std::int64_t simd_level) {
    RECORD_FUNCTION("tessera::batch_norm_max_pool", std::vector<c10::IValue>());
    const BatchNormStatistics st = batch_norm_statistics(
        x, weight, bias, running_mean, running_var, momentum, eps, common::SimdLevel(simd_level));
    const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    const std::int64_t ho = pooled_size(h), wo = pooled_size(w);
    const std::vector<float> scale = simd::to_lanes(st.scale), offset = simd::to_lanes(st.offset);
    std::vector<std::uint32_t> flip(scale.size());
    for (std::size_t i = 0; i < flip.size(); ++i)
      flip[i] = std::signbit(scale[i]) ? 0x80000000u : 0;
    const PoolNorm nm{flip.data(), scale.data(), offset.data()};
    const auto nhwc = at::MemoryFormat::ChannelsLast;
    torch::Tensor out = torch::empty({n, c, ho, wo}, x.options().memory_format(nhwc));
    torch::Tensor pos = torch::empty({n, ho, wo, c}, x.options().dtype(torch::kInt16));
    torch::Tensor at_max = torch::empty({n, ho, wo, c}, x.options());
    pool_nhwc(x, out, pos, nm, at_max);
    ctx->save_for_backward({x, pos, at_max, weight});
    ctx->saved_data["mean"] = st.mean;
    ctx->saved_data["invstd"] = st.invstd;
    ctx->saved_data["simd"] = simd_level;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &pos = saved[1], &at_max = saved[2], &weight = saved[3];
    const auto nhwc = at::MemoryFormat::ChannelsLast;
    const torch::Tensor g = grads[0].to(torch::kBFloat16).contiguous(nhwc);
    const BatchNormGradient bg =
        batch_norm_gradient(g, torch::Tensor(), at_max, ctx->saved_data["mean"].toTensor(),
                            ctx->saved_data["invstd"].toTensor(), weight, x.numel() / x.size(1),
                            common::SimdLevel(ctx->saved_data["simd"].toInt()));
    const std::vector<float> mean_lanes = simd::to_lanes(bg.mean), scale = simd::to_lanes(bg.scale),
                             slope = simd::to_lanes(bg.slope), offset = simd::to_lanes(bg.offset);
    const UnpoolNorm nm{mean_lanes.data(), scale.data(), slope.data(), offset.data()};
    torch::Tensor dx = torch::empty_like(x, x.options(), nhwc);
    unpool_nhwc(g, pos, dx, nm, x);
    return {dx, bg.dweight, bg.dbias, {}, {}, {}, {}, {}};
  }
};

}  // namespace

torch::Tensor batch_norm_max_pool_3x3_s2(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn,
                                         const KernelOptions& kernels) {
  // batch_norm_fused also rules out empty maps (it wants two rows or more).
  if (!batch_norm_fused(x, bn, kernels))
    return torch::max_pool2d(batch_norm(x, bn, kernels, /*relu=*/false), 3, 2, 1);
  const double momentum = count_batch(bn);
  return BatchNormMaxPool::apply(x, bn.weight, bn.bias, bn.running_mean, bn.running_var, momentum,
                                 bn.options.eps(), std::int64_t(kernels.simd));
}

}  // namespace tessera::ops
