#include "tessera/ops/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/record_function.h>

#include "tessera/common/simd_dispatch.h"
#include "tessera/ops/bf16_vector.h"
#include "tessera/ops/lane_order.h"
#include "tessera/ops/parallel.h"

namespace tessera::ops {
namespace {

using simd::from_lanes;
using simd::load32;
using simd::store32;
using simd::to_lanes;
using simd::V16;
using simd::V32;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using bf16 = c10::BFloat16;

// Rows (N*H*W positions) per block of the statistics. Each block's sums are
// fp32 over at most this many values; the blocks are then added in fp64.
constexpr std::int64_t kBlockRows = 512;

// Rows per pass over a tile of channels in channel_sums: enough to keep the
// running sums in registers for a while, few enough that the rows' bytes
// are read in order (tile after tile along each group of rows, so the
// hardware prefetcher sees one stream, not 1 KB strides at 512 channels).
constexpr std::int64_t kRowGroup = 8;

// Element access at one width: 32 channels (V32, whose per-channel fp32
// constants are stored in V32 order: simd::to_lanes) or one (float), so
// that each kernel is written once for its vector body and its channel tail.
__attribute__((always_inline)) inline V32 load(const bf16* p, V32) {
  return load32(p);
}
__attribute__((always_inline)) inline float load(const bf16* p, float) {
  return float(*p);
}
__attribute__((always_inline)) inline V32 load(const float* p, V32) {
  return load32(p);
}
__attribute__((always_inline)) inline float load(const float* p, float) {
  return *p;
}
__attribute__((always_inline)) inline void store(V32 v, bf16* p) {
  store32(v, p);
}
__attribute__((always_inline)) inline void store(float v, bf16* p) {
  *p = bf16(v);
}
// ReLU that keeps NaN (as ATen's), and its gradient, which is zero where
// the output is <= 0 and passes through where it is NaN, as ATen's
// threshold_backward (a NaN output compares false).
__attribute__((always_inline)) inline V16 relu(V16 v) {
  return (v < 0) ? V16{} : v;
}
__attribute__((always_inline)) inline V32 relu(V32 v) {
  return {relu(v.e), relu(v.o)};
}
__attribute__((always_inline)) inline float relu(float v) {
  return v < 0 ? 0.f : v;
}
__attribute__((always_inline)) inline V16 relu_grad(V16 y, V16 g) {
  return (y <= 0) ? V16{} : g;
}
__attribute__((always_inline)) inline V32 relu_grad(V32 y, V32 g) {
  return {relu_grad(y.e, g.e), relu_grad(y.o, g.o)};
}
__attribute__((always_inline)) inline float relu_grad(float y, float g) {
  return y <= 0 ? 0.f : g;
}

// Per-channel sums of two quantities over rows [r0, r1) of C channels,
// in V32 order: sum1[c] = sum_r p(r, c), sum2[c] = sum_r q(r, c), where
// term(T, r, c) returns {p, q} for lanes T (V32 or float) at row r from
// channel c on. Each tile of 128, 32 or 1 channels keeps its sums in
// registers over a group of rows and adds them to sum1, sum2 after it.
template <int NV, typename Term>
__attribute__((always_inline)) inline void tile_sums(std::int64_t r0, std::int64_t r1, int c0,
                                                     Term term, float* sum1, float* sum2) {
  V32 a[NV], b[NV];
  for (int v = 0; v < NV; ++v) a[v] = load32(sum1 + c0 + 32 * v), b[v] = load32(sum2 + c0 + 32 * v);
  for (std::int64_t r = r0; r < r1; ++r) {
    for (int v = 0; v < NV; ++v) {
      const auto [p, q] = term(V32{}, r, c0 + 32 * v);
      a[v] += p;
      b[v] += q;
    }
  }
  for (int v = 0; v < NV; ++v) {
    store32(a[v], sum1 + c0 + 32 * v);
    store32(b[v], sum2 + c0 + 32 * v);
  }
}

template <typename Term>
__attribute__((always_inline)) inline void channel_sums(std::int64_t r0, std::int64_t r1, int C,
                                                        Term term, float* sum1, float* sum2) {
  std::fill(sum1, sum1 + C, 0.f);
  std::fill(sum2, sum2 + C, 0.f);
  for (std::int64_t g0 = r0; g0 < r1; g0 += kRowGroup) {
    const std::int64_t g1 = std::min(r1, g0 + kRowGroup);
    int c = 0;
    for (; c + 128 <= C; c += 128) tile_sums<4>(g0, g1, c, term, sum1, sum2);
    for (; c + 32 <= C; c += 32) tile_sums<1>(g0, g1, c, term, sum1, sum2);
    for (; c < C; ++c) {
      for (std::int64_t r = g0; r < g1; ++r) {
        const auto [p, q] = term(0.f, r, c);
        sum1[c] += p;
        sum2[c] += q;
      }
    }
  }
}

// Runs body(T, row, c) on every channel of rows [r0, r1), 32 at a time,
// then one at a time for the channels left.
template <typename Body>
__attribute__((always_inline)) inline void each_element(std::int64_t r0, std::int64_t r1, int C,
                                                        Body body) {
  for (std::int64_t r = r0; r < r1; ++r) {
    int c = 0;
    for (; c + 32 <= C; c += 32) body(V32{}, r, c);
    for (; c < C; ++c) body(0.f, r, c);
  }
}

// The kernels. Per-channel arrays (shift, scale, offset, mean, slope, and
// the sums) are in V32 order.

// Forward statistics of one block: sums of d = x - shift and of d^2.
TESSERA_SIMD_BODY void forward_sums_body(const bf16* x, int C, std::int64_t r0, std::int64_t r1,
                                         const float* shift, float* sum1, float* sum2) {
  channel_sums(
      r0, r1, C,
      [&](auto T, std::int64_t r, int c) {
        const auto d = load(x + r * C + c, T) - load(shift + c, T);
        return std::pair{d, d * d};
      },
      sum1, sum2);
}

// y = relu?(x * scale + offset [+ residual]) on rows [r0, r1).
TESSERA_SIMD_BODY void forward_apply_body(const bf16* x, const bf16* residual, bf16* y, int C,
                                          std::int64_t r0, std::int64_t r1, const float* scale,
                                          const float* offset, bool with_relu) {
  each_element(r0, r1, C, [&](auto T, std::int64_t r, int c) {
    const std::int64_t i = r * C + c;
    auto v = load(x + i, T) * load(scale + c, T) + load(offset + c, T);
    if (residual) v += load(residual + i, T);
    store(with_relu ? relu(v) : v, y + i);
  });
}

// Backward sums of one block: of the masked gradient gm and of gm * (x - mean).
TESSERA_SIMD_BODY void backward_sums_body(const bf16* g, const bf16* y, const bf16* x, int C,
                                          std::int64_t r0, std::int64_t r1, const float* mean,
                                          bool with_relu, float* sum1, float* sum2) {
  channel_sums(
      r0, r1, C,
      [&](auto T, std::int64_t r, int c) {
        const std::int64_t i = r * C + c;
        auto gm = load(g + i, T);
        if (with_relu) gm = relu_grad(load(y + i, T), gm);
        return std::pair{gm, gm * (load(x + i, T) - load(mean + c, T))};
      },
      sum1, sum2);
}

// dx = scale * gm + slope * (x - mean) + offset; d_residual = gm.
TESSERA_SIMD_BODY void backward_apply_body(const bf16* g, const bf16* y, const bf16* x, bf16* dx,
                                           bf16* dres, int C, std::int64_t r0, std::int64_t r1,
                                           const float* mean, const float* scale,
                                           const float* slope, const float* offset,
                                           bool with_relu) {
  each_element(r0, r1, C, [&](auto T, std::int64_t r, int c) {
    const std::int64_t i = r * C + c;
    auto gm = load(g + i, T);
    if (with_relu) gm = relu_grad(load(y + i, T), gm);
    store(gm * load(scale + c, T) + load(slope + c, T) * (load(x + i, T) - load(mean + c, T)) +
              load(offset + c, T),
          dx + i);
    if (dres) store(gm, dres + i);
  });
}

// Each kernel for AVX-512, AVX2 and the baseline (common/simd_dispatch.h).
TESSERA_SIMD_DISPATCH(forward_sums,
                      (const bf16* x, int C, std::int64_t r0, std::int64_t r1, const float* shift,
                       float* sum1, float* sum2),
                      (x, C, r0, r1, shift, sum1, sum2))
TESSERA_SIMD_DISPATCH(forward_apply,
                      (const bf16* x, const bf16* residual, bf16* y, int C, std::int64_t r0,
                       std::int64_t r1, const float* scale, const float* offset, bool with_relu),
                      (x, residual, y, C, r0, r1, scale, offset, with_relu))
TESSERA_SIMD_DISPATCH(backward_sums,
                      (const bf16* g, const bf16* y, const bf16* x, int C, std::int64_t r0,
                       std::int64_t r1, const float* mean, bool with_relu, float* sum1,
                       float* sum2),
                      (g, y, x, C, r0, r1, mean, with_relu, sum1, sum2))
TESSERA_SIMD_DISPATCH(backward_apply,
                      (const bf16* g, const bf16* y, const bf16* x, bf16* dx, bf16* dres, int C,
                       std::int64_t r0, std::int64_t r1, const float* mean, const float* scale,
                       const float* slope, const float* offset, bool with_relu),
                      (g, y, x, dx, dres, C, r0, r1, mean, scale, slope, offset, with_relu))

// Per-channel totals, in channel order, of block sums in V32 order computed
// by block(r0, r1, sum1, sum2) on blocks of kBlockRows rows, in parallel,
// then added in fp64 in block order: the same result on any thread count.
template <typename Block>
void blocked_totals(std::int64_t rows, int C, Block block, std::vector<double>& total1,
                    std::vector<double>& total2) {
  const std::int64_t blocks = (rows + kBlockRows - 1) / kBlockRows;
  std::vector<float> partial(static_cast<std::size_t>(blocks * 2 * C));
  at::parallel_for(0, blocks, 1, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      float* s = partial.data() + b * 2 * C;
      block(b * kBlockRows, std::min(rows, (b + 1) * kBlockRows), s, s + C);
    }
  });
  total1.assign(std::size_t(C), 0.0);
  total2.assign(std::size_t(C), 0.0);
  for (std::int64_t b = 0; b < blocks; ++b) {
    const float* s = partial.data() + b * 2 * C;
    for (int c = 0; c < C; ++c) total1[c] += s[c], total2[c] += s[C + c];
  }
  from_lanes(total1);
  from_lanes(total2);
}

// Row ranges for the elementwise passes: about 64 KB of activations each.
std::int64_t grain_rows(int C) {
  return std::max<std::int64_t>(1, 32768 / C);
}

std::vector<float> as_floats(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

class FusedBatchNorm : public torch::autograd::Function<FusedBatchNorm> {
 public:
  // x, residual (optional: an input that is not a variable when absent):
  // bf16, channels-last; weight, bias: fp32.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const c10::optional<torch::Tensor>& residual,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               torch::Tensor running_mean, torch::Tensor running_var,
                               double momentum, double eps, bool with_relu,
                               std::int64_t simd_level) {
    const auto simd = common::SimdLevel(simd_level);
    // Named in profiles (`bench step --profile`); the backward shows as its CppNode.
    RECORD_FUNCTION("tessera::batch_norm", std::vector<c10::IValue>());
    const BatchNormStatistics st =
        batch_norm_statistics(x, weight, bias, running_mean, running_var, momentum, eps, simd);
    const int C = int(x.size(1));
    const std::int64_t rows = x.numel() / C;
    torch::Tensor y = torch::empty_like(x, x.options(), at::MemoryFormat::ChannelsLast);
    const bf16* xp = x.data_ptr<bf16>();
    const bf16* rp = residual ? residual->data_ptr<bf16>() : nullptr;
    bf16* yp = y.data_ptr<bf16>();
    const std::vector<float> scale_lanes = to_lanes(st.scale), offset_lanes = to_lanes(st.offset);
    at::parallel_for(0, rows, grain_rows(C), [&](std::int64_t r0, std::int64_t r1) {
      forward_apply(xp, rp, yp, C, r0, r1, scale_lanes.data(), offset_lanes.data(), with_relu,
                    simd);
    });
    ctx->save_for_backward({x, y, weight});
    ctx->saved_data["mean"] = st.mean;
    ctx->saved_data["invstd"] = st.invstd;
    ctx->saved_data["relu"] = with_relu;
    ctx->saved_data["residual"] = residual.has_value();
    ctx->saved_data["simd"] = simd_level;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& y = saved[1];
    const torch::Tensor& weight = saved[2];
    const bool with_relu = ctx->saved_data["relu"].toBool();
    const bool with_residual = ctx->saved_data["residual"].toBool();
    const auto simd = common::SimdLevel(ctx->saved_data["simd"].toInt());
    const torch::Tensor g =
        grads[0].to(torch::kBFloat16).contiguous(at::MemoryFormat::ChannelsLast);
    const int C = int(x.size(1));
    const std::int64_t rows = x.numel() / C;
    const BatchNormGradient bg = batch_norm_gradient(
        g, with_relu ? y : torch::Tensor(), x, ctx->saved_data["mean"].toTensor(),
        ctx->saved_data["invstd"].toTensor(), weight, rows, simd);
    torch::Tensor dx = torch::empty_like(x, x.options(), at::MemoryFormat::ChannelsLast);
    torch::Tensor dres;
    if (with_residual) dres = torch::empty_like(x, x.options(), at::MemoryFormat::ChannelsLast);
    const bf16 *gp = g.data_ptr<bf16>(), *yp = y.data_ptr<bf16>(), *xp = x.data_ptr<bf16>();
    bf16* dxp = dx.data_ptr<bf16>();
    bf16* drp = with_residual ? dres.data_ptr<bf16>() : nullptr;
    const std::vector<float> mean_lanes = to_lanes(bg.mean), scale_lanes = to_lanes(bg.scale),
                             slope_lanes = to_lanes(bg.slope), offset_lanes = to_lanes(bg.offset);
    at::parallel_for(0, rows, grain_rows(C), [&](std::int64_t r0, std::int64_t r1) {
      backward_apply(gp, yp, xp, dxp, drp, C, r0, r1, mean_lanes.data(), scale_lanes.data(),
                     slope_lanes.data(), offset_lanes.data(), with_relu, simd);
    });
    return {dx, dres, bg.dweight, bg.dbias, {}, {}, {}, {}, {}, {}};
  }
};

bool fusable_activation(const torch::Tensor& t) {
  return t.dim() == 4 && t.device().is_cpu() && t.scalar_type() == torch::kBFloat16 &&
         t.is_contiguous(at::MemoryFormat::ChannelsLast);
}

}  // namespace

BatchNormStatistics batch_norm_statistics(const torch::Tensor& x, const torch::Tensor& weight,
                                          const torch::Tensor& bias, torch::Tensor& running_mean,
                                          torch::Tensor& running_var, double momentum, double eps,
                                          common::SimdLevel simd) {
  const int C = int(x.size(1));
  const std::int64_t rows = x.numel() / C;
  const bf16* xp = x.data_ptr<bf16>();
  // Shifted by the first row: the sums then measure the spread about a
  // value near the mean, not about zero.
  const std::size_t n = std::size_t(C);
  std::vector<float> shift(n);
  for (int c = 0; c < C; ++c) shift[c] = float(xp[c]);
  const std::vector<float> shift_lanes = to_lanes(shift);
  std::vector<double> s1, s2;
  blocked_totals(
      rows, C,
      [&](std::int64_t r0, std::int64_t r1, float* a, float* b) {
        forward_sums(xp, C, r0, r1, shift_lanes.data(), a, b, simd);
      },
      s1, s2);
  const std::vector<float> gamma = as_floats(weight), beta = as_floats(bias);
  BatchNormStatistics st;
  st.scale.resize(n);
  st.offset.resize(n);
  st.mean = torch::empty({C}, weight.options());
  st.invstd = torch::empty({C}, weight.options());
  // The unbiased variance, for the running statistics.
  torch::Tensor unbiased = torch::empty({C}, weight.options());
  for (int c = 0; c < C; ++c) {
    const double d = s1[c] / double(rows);
    const double m = shift[c] + d;
    const double var = std::max(0.0, s2[c] / double(rows) - d * d);
    const double is = 1.0 / std::sqrt(var + eps);
    st.scale[c] = float(gamma[c] * is);
    st.offset[c] = float(beta[c] - m * gamma[c] * is);
    st.mean.data_ptr<float>()[c] = float(m);
    st.invstd.data_ptr<float>()[c] = float(is);
    unbiased.data_ptr<float>()[c] = float(var * double(rows) / double(rows - 1));
  }
  torch::NoGradGuard no_grad;
  running_mean.mul_(1.0 - momentum).add_(st.mean.to(running_mean.dtype()), momentum);
  running_var.mul_(1.0 - momentum).add_(unbiased.to(running_var.dtype()), momentum);
  return st;
}

BatchNormGradient batch_norm_gradient(const torch::Tensor& g, const torch::Tensor& y,
                                      const torch::Tensor& x, const torch::Tensor& mean,
                                      const torch::Tensor& invstd_t, const torch::Tensor& weight,
                                      std::int64_t rows, common::SimdLevel simd) {
  const int C = int(weight.size(0));
  const bf16 *gp = g.data_ptr<bf16>(), *xp = x.data_ptr<bf16>();
  const bf16* yp = y.defined() ? y.data_ptr<bf16>() : nullptr;
  BatchNormGradient bg;
  bg.mean = as_floats(mean);
  const std::vector<float> mean_lanes = to_lanes(bg.mean);
  std::vector<double> sg, sgx;
  blocked_totals(
      g.numel() / C, C,
      [&](std::int64_t r0, std::int64_t r1, float* a, float* b) {
        backward_sums(gp, yp, xp, C, r0, r1, mean_lanes.data(), yp != nullptr, a, b, simd);
      },
      sg, sgx);
  const std::vector<float> gamma = as_floats(weight), invstd = as_floats(invstd_t);
  bg.dweight = torch::empty({C}, weight.options());
  bg.dbias = torch::empty({C}, weight.options());
  const std::size_t n = std::size_t(C);
  bg.scale.resize(n);
  bg.slope.resize(n);
  bg.offset.resize(n);
  for (int c = 0; c < C; ++c) {
    const double is = invstd[c], sc = double(gamma[c]) * is;
    bg.dweight.data_ptr<float>()[c] = float(sgx[c] * is);
    bg.dbias.data_ptr<float>()[c] = float(sg[c]);
    // dx = scale * (gm - mean(gm) - xhat * mean(gm * xhat)), xhat = (x - mean) * invstd.
    bg.scale[c] = float(sc);
    bg.slope[c] = float(-sc * is * is * sgx[c] / double(rows));
    bg.offset[c] = float(-sc * sg[c] / double(rows));
  }
  return bg;
}

double count_batch(torch::nn::BatchNorm2dImpl& bn) {
  // As BatchNorm2d's forward: count the batch, and without a momentum
  // average over all batches so far.
  torch::NoGradGuard no_grad;
  bn.num_batches_tracked += 1;
  return bn.options.momentum() ? *bn.options.momentum()
                               : 1.0 / bn.num_batches_tracked.item<double>();
}

bool batch_norm_fused(const torch::Tensor& x, const torch::nn::BatchNorm2dImpl& bn,
                      const KernelOptions& kernels, const torch::Tensor& residual) {
  const auto& o = bn.options;
  if (!kernels.fused_batch_norm || !bn.is_training() || !o.affine() || !o.track_running_stats())
    return false;
  if (!fusable_activation(x) || x.size(1) != o.num_features() || x.numel() / x.size(1) < 2)
    return false;
  if (residual.defined() && (!fusable_activation(residual) || residual.sizes() != x.sizes()))
    return false;
  for (const torch::Tensor* p : {&bn.weight, &bn.bias, &bn.running_mean, &bn.running_var}) {
    if (!p->defined() || p->scalar_type() != torch::kFloat32 || !p->device().is_cpu()) return false;
  }
  return true;
}

torch::Tensor batch_norm(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn,
                         const KernelOptions& kernels, bool relu, const torch::Tensor& residual) {
  if (!batch_norm_fused(x, bn, kernels, residual)) {
    torch::Tensor y = bn.forward(x);
    if (residual.defined()) y.add_(residual);
    return relu ? y.relu_() : y;
  }
  const double momentum = count_batch(bn);
  const c10::optional<torch::Tensor> r =
      residual.defined() ? c10::optional<torch::Tensor>(residual) : c10::nullopt;
  return FusedBatchNorm::apply(x, r, bn.weight, bn.bias, bn.running_mean, bn.running_var, momentum,
                               bn.options.eps(), relu, std::int64_t(kernels.simd));
}

}  // namespace tessera::ops
