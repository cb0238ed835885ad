#include "tessera/model/conv.h"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace tessera::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::atomic<bool>& tuning_flag() {
  static std::atomic<bool> on{[] {
    const char* v = std::getenv("TESSERA_CONV_TUNING");
    return !(v && std::strcmp(v, "off") == 0);
  }()};
  return on;
}

// The faster computation of each gradient for one layer shape, and the
// times that decided it.
struct Choice {
  bool weight_gemm = false, input_gemm = false;
  double weight_ms[2] = {0, 0}, input_ms[2] = {0, 0};  // {library, gemm}; 0: not timed
};

std::mutex& choices_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, Choice>& choices() {
  static std::map<std::string, Choice> c;
  return c;
}

// Choices are made on at most this many samples of a batch and hold for any
// batch size: both computations scale linearly with it, and timing a whole
// Table 1 batch (768 tiles) four times over, with the unfolded input of the
// first stage at 1.4 GB, cost more than the choice saved (docs/performance.md).
constexpr std::int64_t kTuneSamples = 48;

// A layer shape, without the batch size.
std::string shape_key(const torch::Tensor& x, const torch::Tensor& w, int stride, int padding) {
  auto dims = [](const torch::Tensor& t, std::int64_t from) {
    std::string s = "[";
    for (std::int64_t i = from; i < t.dim(); ++i)
      s += (i > from ? "," : "") + std::to_string(t.size(i));
    return s + "]";
  };
  return std::string(c10::toString(x.scalar_type())) + " x" + dims(x, 1) + " w" + dims(w, 0) +
         " s" + std::to_string(stride) + " p" + std::to_string(padding);
}

// Milliseconds of the second of two runs: the first pays for oneDNN's
// primitive creation and for first-touch allocation, which later steps avoid.
template <typename F>
double timed(F f) {
  f();
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

torch::Tensor library_grad(const torch::Tensor& g, const torch::Tensor& x, const torch::Tensor& w,
                           int stride, int padding, bool input) {
  const std::int64_t s = stride, p = padding;
  auto r = at::convolution_backward(g, x, w, c10::nullopt, {s, s}, {p, p}, {1, 1}, false, {0, 0}, 1,
                                    {input, !input, false});
  return input ? std::get<0>(r) : std::get<1>(r);
}

class TunedConv : public torch::autograd::Function<TunedConv> {
 public:
  // x and w arrive in bf16 (the casts before it carry fp32 master weights'
  // gradients back), and so do their gradients.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               std::int64_t stride, std::int64_t padding) {
    ctx->save_for_backward({x, w});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    return at::conv2d(x, w, {}, {stride, stride}, {padding, padding});
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &w = saved[1];
    const int stride = int(ctx->saved_data["stride"].toInt());
    const int padding = int(ctx->saved_data["padding"].toInt());
    const torch::Tensor g = grads[0].to(x.scalar_type()).contiguous();
    const bool want_x = ctx->needs_input_grad(0), want_w = ctx->needs_input_grad(1);
    const std::string key = shape_key(x, w, stride, padding);
    Choice choice;
    bool known = false;
    {
      std::lock_guard<std::mutex> lock(choices_mutex());
      auto it = choices().find(key);
      // A shape first seen without an input gradient (the stem) is tuned
      // again if one is ever wanted.
      if (it != choices().end() && (!want_x || it->second.input_ms[0] > 0)) {
        choice = it->second;
        known = true;
      }
    }
    const int k = int(w.size(2));
    // The gradients of (g, x), by either computation.
    auto gemm_w = [&](const torch::Tensor& gg, const torch::Tensor& xx) {
      return conv2d_weight_grad_gemm(gg, xx, k, stride, padding);
    };
    auto lib_w = [&](const torch::Tensor& gg, const torch::Tensor& xx) {
      return library_grad(gg, xx, w, stride, padding, false);
    };
    auto gemm_x = [&](const torch::Tensor& gg, const torch::Tensor& xx) {
      return conv2d_input_grad_gemm(gg, w, int(xx.size(2)), int(xx.size(3)), stride, padding);
    };
    auto lib_x = [&](const torch::Tensor& gg, const torch::Tensor& xx) {
      return library_grad(gg, xx, w, stride, padding, true);
    };
    if (!known) {
      // Time both ways once on the first samples, and remember the faster.
      const std::int64_t n = std::min(kTuneSamples, x.size(0));
      const torch::Tensor gs = g.narrow(0, 0, n).contiguous(), xs = x.narrow(0, 0, n).contiguous();
      if (want_w) {
        choice.weight_ms[0] = timed([&] { return lib_w(gs, xs); });
        choice.weight_ms[1] = timed([&] { return gemm_w(gs, xs); });
        choice.weight_gemm = choice.weight_ms[1] < choice.weight_ms[0];
      }
      if (want_x) {
        choice.input_ms[0] = timed([&] { return lib_x(gs, xs); });
        choice.input_ms[1] = timed([&] { return gemm_x(gs, xs); });
        choice.input_gemm = choice.input_ms[1] < choice.input_ms[0];
      }
      std::lock_guard<std::mutex> lock(choices_mutex());
      choices()[key] = choice;
    }
    torch::Tensor gx, gw;
    if (want_w) gw = choice.weight_gemm ? gemm_w(g, x) : lib_w(g, x);
    if (want_x) gx = choice.input_gemm ? gemm_x(g, x) : lib_x(g, x);
    return {gx, gw, torch::Tensor(), torch::Tensor()};
  }
};

// bf16 compute on the CPU: under autocast, or with bf16 operands.
bool computes_in_bf16(const torch::Tensor& x, const torch::Tensor& w) {
  if (!x.device().is_cpu()) return false;
  if (at::autocast::is_cpu_enabled())
    return at::autocast::get_autocast_cpu_dtype() == at::kBFloat16;
  return x.scalar_type() == at::kBFloat16 && w.scalar_type() == at::kBFloat16;
}

}  // namespace

torch::Tensor conv2d(const torch::Tensor& x, const torch::Tensor& w, int stride, int padding) {
  if (!tuning_flag() || !computes_in_bf16(x, w) || x.dim() != 4) {
    return torch::conv2d(x, w, {}, stride, padding);
  }
  return TunedConv::apply(x.to(at::kBFloat16), w.to(at::kBFloat16), std::int64_t(stride),
                          std::int64_t(padding));
}

torch::Tensor conv2d_weight_grad_gemm(const torch::Tensor& g, const torch::Tensor& x, int kernel,
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

torch::Tensor conv2d_input_grad_gemm(const torch::Tensor& g, const torch::Tensor& w, int height,
                                     int width, int stride, int padding) {
  const std::int64_t n = g.size(0), o = g.size(1), k = w.size(2);
  const std::int64_t ck = w.size(1) * k * k;
  // The gradient of each unfolded column, folded back onto the input.
  const torch::Tensor cols =
      at::matmul(w.reshape({o, ck}).t(), g.reshape({n, o, g.size(2) * g.size(3)}));
  return at::col2im(cols, {height, width}, {k, k}, {1, 1}, {padding, padding}, {stride, stride});
}

std::vector<std::string> conv_backward_choices() {
  std::lock_guard<std::mutex> lock(choices_mutex());
  std::vector<std::string> out;
  auto part = [](const char* what, bool gemm, const double* ms) {
    if (ms[0] <= 0) return std::string();
    char buf[128];
    std::snprintf(buf, sizeof buf, ", %s %s %.1f ms (%s %.1f)", what, gemm ? "gemm" : "library",
                  gemm ? ms[1] : ms[0], gemm ? "library" : "gemm", gemm ? ms[0] : ms[1]);
    return std::string(buf);
  };
  for (const auto& [key, c] : choices()) {
    out.push_back(key + ":" + part("weight", c.weight_gemm, c.weight_ms).substr(1) +
                  part("input", c.input_gemm, c.input_ms));
  }
  return out;
}

void set_conv_tuning(bool enabled) {
  tuning_flag() = enabled;
}

bool conv_tuning_enabled() {
  return tuning_flag();
}

}  // namespace tessera::model
