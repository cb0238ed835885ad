#include "tessera/ops/conv.h"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <stdexcept>

#include "tessera/common/fastest.h"
#include "tessera/ops/unfold.h"

namespace tessera::ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
constexpr auto kNhwc = at::MemoryFormat::ChannelsLast;

using Method = ConvMethod;
constexpr Method kLibrary = ConvMethod::kLibrary, kGemm = ConvMethod::kGemm,
                 kFlipped = ConvMethod::kFlipped;
constexpr int kMethods = kConvMethods;

// Choices are made on at most this many samples of a batch and hold for any
// batch size: every computation scales linearly with it, and timing a whole
// Table 1 batch (768 tiles) several times over, with the unfolded input of the
// first stage at 1.4 GB, cost more than the choice saved
// (docs/history/performance-libtorch-1.13.md).
constexpr std::int64_t kTuneSamples = 48;

// The unfolded inputs of the GEMM computations are built this many bytes of
// samples at a time, so that a Table 1 batch never holds all of them.
constexpr std::int64_t kChunkBytes = std::int64_t(64) << 20;

// Channels-last unless NCHW-contiguous with more than one channel (with one,
// the two layouts are the same memory).
bool is_nhwc(const torch::Tensor& t) {
  return t.dim() == 4 && t.is_contiguous(kNhwc) && (t.size(1) == 1 || !t.is_contiguous());
}

// A layer shape, without the batch size.
std::string shape_key(const torch::Tensor& x, const torch::Tensor& w, int stride, int padding,
                      bool nhwc) {
  auto dims = [](const torch::Tensor& t, std::int64_t from) {
    std::string s = "[";
    for (std::int64_t i = from; i < t.dim(); ++i)
      s += (i > from ? "," : "") + std::to_string(t.size(i));
    return s + "]";
  };
  return std::string(c10::toString(x.scalar_type())) + (nhwc ? " nhwc" : "") + " x" + dims(x, 1) +
         " w" + dims(w, 0) + " s" + std::to_string(stride) + " p" + std::to_string(padding);
}

// Times every possible way (run(m) computes by method m) and keeps the
// fastest (common/fastest.h: an untimed call of each first, then the
// fastest of interleaved rounds).
template <typename F>
void tune(ConvOpChoice& c, const bool (&possible)[kMethods], F run) {
  const common::RaceResult r = common::race(std::vector<bool>(possible, possible + kMethods),
                                            [&](int m) { run(Method(m)); });
  c.decided = true;
  c.method = Method(r.fastest);
  for (int m = 0; m < kMethods; ++m) c.ms[m] = r.ms[m];
}

// A plan read from a file may name a way this shape cannot take (an edited
// plan, or one of another network): refuse it rather than compute garbage.
void check_possible(const ConvOpChoice& c, const bool (&possible)[kMethods], const char* part,
                    const std::string& key) {
  if (!possible[int(c.method)]) {
    throw std::invalid_argument(std::string("kernel plan: the ") + part + " of '" + key +
                                "' cannot be computed by '" + conv_method_name(c.method) + "'");
  }
}

// The plan travels through autograd's saved data as an integer: the network
// that owns it outlives every forward and backward pass it runs.
ConvPlan* plan_of(std::int64_t address) {
  return reinterpret_cast<ConvPlan*>(static_cast<std::intptr_t>(address));
}
std::int64_t address_of(ConvPlan* plan) {
  return static_cast<std::int64_t>(reinterpret_cast<std::intptr_t>(plan));
}

torch::Tensor library_grad(const torch::Tensor& g, const torch::Tensor& x, const torch::Tensor& w,
                           int stride, int padding, bool input) {
  const std::int64_t s = stride, p = padding;
  auto r = at::convolution_backward(g, x, w, c10::nullopt, {s, s}, {p, p}, {1, 1}, false, {0, 0}, 1,
                                    {input, !input, false});
  return input ? std::get<0>(r) : std::get<1>(r);
}

// Samples per chunk of unfolded input, at `per_sample` elements each.
std::int64_t chunk_samples(std::int64_t per_sample, std::int64_t element_size) {
  return std::max<std::int64_t>(1,
                                kChunkBytes / std::max<std::int64_t>(1, per_sample * element_size));
}

// Partial sums of bf16 products add up in fp32; wider types in their own.
torch::ScalarType accumulation_type(const torch::Tensor& t) {
  return at::promote_types(t.scalar_type(), torch::kFloat32);
}

// The weights as [O, k*k*C] rows in (kh, kw, c) order, the unfolded order.
torch::Tensor weight_rows(const torch::Tensor& w) {
  return w.permute({0, 2, 3, 1}).reshape({w.size(0), -1});
}

torch::Tensor forward_gemm_nhwc(const torch::Tensor& x, const torch::Tensor& w, int s, int p) {
  const std::int64_t n = x.size(0), o = w.size(0), k = w.size(2), c = x.size(1);
  const std::int64_t ho = conv_out_size(x.size(2), k, s, p), wo = conv_out_size(x.size(3), k, s, p);
  const std::int64_t row = k * k * c, length = unfolded_row_length(k, c);
  torch::Tensor wm = weight_rows(w);
  if (length > row) wm = at::constant_pad_nd(wm, {0, length - row});
  wm = wm.t();
  torch::Tensor y =
      at::empty({n, ho, wo, o}, x.options().memory_format(at::MemoryFormat::Contiguous));
  const std::int64_t step = chunk_samples(ho * wo * length, x.element_size());
  for (std::int64_t i = 0; i < n; i += step) {
    const std::int64_t m = std::min(step, n - i);
    const torch::Tensor cols = unfold_nhwc(x.narrow(0, i, m), k, s, p).view({m * ho * wo, -1});
    torch::Tensor out = y.narrow(0, i, m).view({m * ho * wo, o});
    at::mm_out(out, cols, wm);
  }
  return y.permute({0, 3, 1, 2});
}

torch::Tensor weight_grad_gemm_nhwc(const torch::Tensor& g, const torch::Tensor& x, int k, int s,
                                    int p) {
  const std::int64_t n = x.size(0), c = x.size(1), o = g.size(1);
  const std::int64_t positions = g.size(2) * g.size(3);
  const torch::Tensor rows = g.permute({0, 2, 3, 1}).reshape({n * positions, o});
  const std::int64_t row = k * k * c;
  const std::int64_t step = chunk_samples(positions * unfolded_row_length(k, c), x.element_size());
  torch::Tensor sum;  // [O, k*k*C]; chunks add up in fp32 (or wider)
  for (std::int64_t i = 0; i < n; i += step) {
    const std::int64_t m = std::min(step, n - i);
    const torch::Tensor cols = unfold_nhwc(x.narrow(0, i, m), k, s, p).view({m * positions, -1});
    const torch::Tensor part = at::mm(rows.narrow(0, i * positions, m * positions).t(), cols);
    if (m == n) {
      sum = part;
    } else if (!sum.defined()) {
      sum = part.to(accumulation_type(x));
    } else {
      sum.add_(part);
    }
  }
  return sum.narrow(1, 0, row).to(x.scalar_type()).reshape({o, k, k, c}).permute({0, 3, 1, 2});
}

torch::Tensor input_grad_gemm_nhwc(const torch::Tensor& g, const torch::Tensor& w, int height,
                                   int width, int s, int p, common::SimdLevel simd) {
  const std::int64_t n = g.size(0), o = g.size(1), ho = g.size(2), wo = g.size(3);
  const std::int64_t c = w.size(1), k = w.size(2);
  const torch::Tensor wm = weight_rows(w);
  const torch::Tensor rows = g.permute({0, 2, 3, 1}).reshape({n * ho * wo, o});
  // The gradient of each unfolded row, folded back onto the input: windows
  // overlap up to k*k times, and fold_nhwc adds them in fp32.
  torch::Tensor dx = at::empty({n, c, height, width}, g.options().memory_format(kNhwc));
  const std::int64_t step = chunk_samples(ho * wo * k * k * c, g.element_size());
  for (std::int64_t i = 0; i < n; i += step) {
    const std::int64_t m = std::min(step, n - i);
    const torch::Tensor cols = at::mm(rows.narrow(0, i * ho * wo, m * ho * wo), wm);
    fold_nhwc(cols, dx.narrow(0, i, m), k, s, p, simd);
  }
  return dx;
}

torch::Tensor weight_grad_gemm_nchw(const torch::Tensor& g, const torch::Tensor& x, int kernel,
                                    int stride, int padding) {
  const std::int64_t n = x.size(0), c = x.size(1), o = g.size(1);
  const std::int64_t positions = g.size(2) * g.size(3);
  // cols [N, C*k*k, L]: the input under each output position.
  const torch::Tensor cols =
      at::im2col(x, {kernel, kernel}, {1, 1}, {padding, padding}, {stride, stride});
  const torch::Tensor g2 = g.reshape({n, o, positions}).transpose(0, 1).reshape({o, n * positions});
  const torch::Tensor c2 = cols.transpose(0, 1).reshape({c * kernel * kernel, n * positions});
  return at::mm(g2, c2.t()).reshape({o, c, kernel, kernel});
}

torch::Tensor input_grad_gemm_nchw(const torch::Tensor& g, const torch::Tensor& w, int height,
                                   int width, int stride, int padding) {
  const std::int64_t n = g.size(0), o = g.size(1), k = w.size(2);
  const std::int64_t ck = w.size(1) * k * k;
  // The gradient of each unfolded column, folded back onto the input.
  const torch::Tensor cols =
      at::matmul(w.reshape({o, ck}).t(), g.reshape({n, o, g.size(2) * g.size(3)}));
  return at::col2im(cols, {height, width}, {k, k}, {1, 1}, {padding, padding}, {stride, stride});
}

class TunedConv : public torch::autograd::Function<TunedConv> {
 public:
  // x and w arrive in bf16 (the casts before it carry fp32 master weights'
  // gradients back), channels-last when `nhwc`, and so do their gradients.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               std::int64_t stride, std::int64_t padding, bool nhwc,
                               std::int64_t plan_address, std::int64_t simd_level) {
    ctx->save_for_backward({x, w});
    ctx->saved_data["simd"] = simd_level;
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    ctx->saved_data["nhwc"] = nhwc;
    ctx->saved_data["plan"] = plan_address;
    ConvPlan& plan = *plan_of(plan_address);
    const int s = int(stride), p = int(padding);
    auto library = [&](const torch::Tensor& xx) {
      torch::Tensor y = at::conv2d(xx, w, {}, {stride, stride}, {padding, padding});
      // With one input channel oneDNN may answer NCHW.
      return nhwc ? y.contiguous(kNhwc) : y;
    };
    if (!nhwc) return library(x);  // the only NCHW forward
    const std::string key = shape_key(x, w, s, p, true);
    ConvChoice choice = plan.get(key);
    auto by = [&](Method m, const torch::Tensor& xx) {
      return m == kGemm ? forward_gemm_nhwc(xx, w, s, p) : library(xx);
    };
    const bool possible[kMethods] = {true, true, false};
    if (!choice.forward.decided) {
      const torch::Tensor xs = x.narrow(0, 0, std::min(kTuneSamples, x.size(0)));
      tune(choice.forward, possible, [&](Method m) { return by(m, xs); });
      plan.record(key, choice);
      choice = plan.get(key);  // another thread may have decided first
    }
    check_possible(choice.forward, possible, "forward", key);
    return by(choice.forward.method, x);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &w = saved[1];
    const int stride = int(ctx->saved_data["stride"].toInt());
    const int padding = int(ctx->saved_data["padding"].toInt());
    const bool nhwc = ctx->saved_data["nhwc"].toBool();
    ConvPlan& plan = *plan_of(ctx->saved_data["plan"].toInt());
    const auto simd = common::SimdLevel(ctx->saved_data["simd"].toInt());
    const auto format = nhwc ? kNhwc : at::MemoryFormat::Contiguous;
    const torch::Tensor g = grads[0].to(x.scalar_type()).contiguous(format);
    const bool want_x = ctx->needs_input_grad(0), want_w = ctx->needs_input_grad(1);
    const std::string key = shape_key(x, w, stride, padding, nhwc);
    ConvChoice choice = plan.get(key);
    const int k = int(w.size(2));
    auto weight_grad = [&](Method m, const torch::Tensor& gg, const torch::Tensor& xx) {
      return m == kGemm ? conv2d_weight_grad_gemm(gg, xx, k, stride, padding)
                        : library_grad(gg, xx, w, stride, padding, false);
    };
    auto input_grad = [&](Method m, const torch::Tensor& gg, const torch::Tensor& xx) {
      if (m == kGemm)
        return conv2d_input_grad_gemm(gg, w, int(xx.size(2)), int(xx.size(3)), stride, padding,
                                      simd);
      if (m == kFlipped) return conv2d_input_grad_flipped(gg, w, padding);
      return library_grad(gg, xx, w, stride, padding, true);
    };
    // A shape first seen without an input gradient (the stem) is tuned for
    // one if one is ever wanted.
    const bool weight_possible[kMethods] = {true, true, false};
    const bool input_possible[kMethods] = {true, true, stride == 1 && padding <= k - 1};
    if ((want_w && !choice.weight.decided) || (want_x && !choice.input.decided)) {
      // Time every way once on the first samples, and remember the fastest.
      const std::int64_t n = std::min(kTuneSamples, x.size(0));
      const torch::Tensor gs = g.narrow(0, 0, n).contiguous(format);
      const torch::Tensor xs = x.narrow(0, 0, n).contiguous(format);
      ConvChoice tuned;
      if (want_w && !choice.weight.decided) {
        tune(tuned.weight, weight_possible, [&](Method m) { return weight_grad(m, gs, xs); });
      }
      if (want_x && !choice.input.decided) {
        tune(tuned.input, input_possible, [&](Method m) { return input_grad(m, gs, xs); });
      }
      plan.record(key, tuned);
      choice = plan.get(key);
    }
    torch::Tensor gx, gw;
    if (want_w) {
      check_possible(choice.weight, weight_possible, "weight gradient", key);
      gw = weight_grad(choice.weight.method, g, x);
    }
    if (want_x) {
      check_possible(choice.input, input_possible, "input gradient", key);
      gx = input_grad(choice.input.method, g, x).contiguous(format);
    }
    return {gx,
            gw,
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }
};

// bf16 compute on the CPU: under autocast, or with bf16 operands.
bool computes_in_bf16(const torch::Tensor& x, const torch::Tensor& w) {
  if (!x.device().is_cpu()) return false;
  if (at::autocast::is_autocast_enabled(at::kCPU))
    return at::autocast::get_autocast_dtype(at::kCPU) == at::kBFloat16;
  return x.scalar_type() == at::kBFloat16 && w.scalar_type() == at::kBFloat16;
}

// A stride-2 convolution of a few input channels (the stem: one channel,
// 7x7) rewritten as a stride-1 one on the input's four phase planes (space
// to depth): y[oy] = sum_kh w[kh] x[2 oy - p + kh] = sum_a w'[a] x_py[oy - q + a]
// with t = kh - p + 2q = 2a + py, q = ceil(p / 2). The weights are padded
// in front by 2q - p (and behind to an even length) and split by phase
// into C*4 channels of ceil(.../2) taps; the phase planes are padded by q
// in front and as needed behind, and the output cut to size. Every step is
// a differentiable tensor operation, so autograd carries the gradients back.
// For the stem, oneDNN's forward of the phase planes, split included, was
// several times faster than the direct NHWC 7x7 convolution (bf16;
// docs/history/performance-libtorch-1.13.md).
// `conv(planes, weights)` is the stride-1, unpadded convolution.
template <typename Conv>
torch::Tensor space_to_depth_conv(const torch::Tensor& x, const torch::Tensor& w, int padding,
                                  at::MemoryFormat format, Conv conv) {
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  const std::int64_t o = w.size(0), k = w.size(2), p = padding;
  const std::int64_t q = (p + 1) / 2, front = 2 * q - p;
  const std::int64_t taps = (front + k + 1) / 2;  // per phase
  const std::int64_t ho = conv_out_size(h, k, 2, p), wo = conv_out_size(wd, k, 2, p);
  // Even map sizes; a zero row or column added at the end is never read.
  const torch::Tensor xe = at::constant_pad_nd(x, {0, wd % 2, 0, h % 2});
  const std::int64_t hh = xe.size(2) / 2, wh = xe.size(3) / 2;
  // [N, C, H/2, 2, W/2, 2] -> [N, C, 2 (py), 2 (px), H/2, W/2] -> [N, 4C, H/2, W/2]
  const torch::Tensor planes =
      xe.view({n, c, hh, 2, wh, 2}).permute({0, 1, 3, 5, 2, 4}).reshape({n, c * 4, hh, wh});
  const std::int64_t back_h = std::max<std::int64_t>(0, ho + taps - 1 - q - hh);
  const std::int64_t back_w = std::max<std::int64_t>(0, wo + taps - 1 - q - wh);
  const torch::Tensor xp = at::constant_pad_nd(planes, {q, back_w, q, back_h});
  // [O, C, k, k] -> padded [O, C, 2 taps, 2 taps] -> [O, C, taps, 2, taps, 2]
  // -> [O, C, 2 (py), 2 (px), taps, taps] -> [O, 4C, taps, taps]
  const std::int64_t len = 2 * taps;
  const torch::Tensor w4 = at::constant_pad_nd(w, {front, len - front - k, front, len - front - k})
                               .view({o, c, taps, 2, taps, 2})
                               .permute({0, 1, 3, 5, 2, 4})
                               .reshape({o, c * 4, taps, taps});
  torch::Tensor y = conv(xp, w4);
  if (y.size(2) != ho || y.size(3) != wo)
    y = y.narrow(2, 0, ho).narrow(3, 0, wo).contiguous(format);
  return y;
}

// Input channels up to which a stride-2 bf16 convolution on NHWC runs on
// phase planes (space_to_depth_conv).
constexpr std::int64_t kSpaceToDepthChannels = 4;

// The bf16 operand of a convolution in `format`: a differentiable cast and
// reorder, so the gradient reaches the fp32 tensor it came from.
torch::Tensor bf16_operand(const torch::Tensor& t, at::MemoryFormat format) {
  return t.to(at::kBFloat16).contiguous(format);
}

}  // namespace

torch::Tensor conv2d(const torch::Tensor& x, const torch::Tensor& w, int stride, int padding,
                     const KernelOptions& kernels, ConvPlan* plan) {
  if (x.dim() != 4 || !computes_in_bf16(x, w)) return torch::conv2d(x, w, {}, stride, padding);
  const bool nhwc = kernels.bf16_channels_last;
  const auto format = nhwc ? kNhwc : at::MemoryFormat::Contiguous;
  if (!kernels.conv_tuning) {
    if (!nhwc) return torch::conv2d(x, w, {}, stride, padding);
    return torch::conv2d(bf16_operand(x, format), bf16_operand(w, format), {}, stride, padding)
        .contiguous(format);
  }
  if (plan == nullptr) {
    throw std::invalid_argument("ops::conv2d: conv_tuning needs a plan to keep its choices in");
  }
  const std::int64_t address = address_of(plan), simd = std::int64_t(kernels.simd);
  if (nhwc && stride == 2 && x.size(1) <= kSpaceToDepthChannels && w.size(2) > 2 &&
      padding <= w.size(2) - 1) {
    return space_to_depth_conv(
        x, w, padding, kNhwc, [address, simd](const torch::Tensor& xp, const torch::Tensor& wp) {
          return TunedConv::apply(bf16_operand(xp, kNhwc), bf16_operand(wp, kNhwc), std::int64_t(1),
                                  std::int64_t(0), true, address, simd);
        });
  }
  return TunedConv::apply(bf16_operand(x, format), bf16_operand(w, format), std::int64_t(stride),
                          std::int64_t(padding), nhwc, address, simd);
}

torch::Tensor conv2d_space_to_depth(const torch::Tensor& x, const torch::Tensor& w, int padding) {
  const auto format = is_nhwc(x) ? kNhwc : at::MemoryFormat::Contiguous;
  return space_to_depth_conv(x, w, padding, format,
                             [&](const torch::Tensor& xp, const torch::Tensor& wp) {
                               const std::int64_t one = 1, zero = 0;
                               return at::conv2d(xp.contiguous(format), wp.contiguous(format), {},
                                                 {one, one}, {zero, zero});
                             });
}

torch::Tensor conv2d_forward_gemm(const torch::Tensor& x, const torch::Tensor& w, int stride,
                                  int padding) {
  if (is_nhwc(x)) return forward_gemm_nhwc(x, w, stride, padding);
  return forward_gemm_nhwc(x.contiguous(kNhwc), w, stride, padding).contiguous();
}

torch::Tensor conv2d_weight_grad_gemm(const torch::Tensor& g, const torch::Tensor& x, int kernel,
                                      int stride, int padding) {
  if (is_nhwc(x)) return weight_grad_gemm_nhwc(g.contiguous(kNhwc), x, kernel, stride, padding);
  return weight_grad_gemm_nchw(g, x, kernel, stride, padding);
}

torch::Tensor conv2d_input_grad_gemm(const torch::Tensor& g, const torch::Tensor& w, int height,
                                     int width, int stride, int padding, common::SimdLevel simd) {
  if (is_nhwc(g)) return input_grad_gemm_nhwc(g, w, height, width, stride, padding, simd);
  return input_grad_gemm_nchw(g, w, height, width, stride, padding);
}

torch::Tensor conv2d_input_grad_flipped(const torch::Tensor& g, const torch::Tensor& w,
                                        int padding) {
  const auto format = is_nhwc(g) ? kNhwc : at::MemoryFormat::Contiguous;
  const torch::Tensor flipped = w.flip({2, 3}).transpose(0, 1).contiguous(format);
  const std::int64_t p = w.size(2) - 1 - padding;
  return at::conv2d(g, flipped, {}, {1, 1}, {p, p}).contiguous(format);
}

}  // namespace tessera::ops
