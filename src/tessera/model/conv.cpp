#include "tessera/model/conv.h"

#include <ATen/autocast_mode.h>

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

std::string shape_key(const torch::Tensor& x, const torch::Tensor& w, int stride, int padding) {
  auto dims = [](const torch::Tensor& t) {
    std::string s = "[";
    for (std::int64_t i = 0; i < t.dim(); ++i) s += (i ? "," : "") + std::to_string(t.size(i));
    return s + "]";
  };
  return std::string(c10::toString(x.scalar_type())) + " x" + dims(x) + " w" + dims(w) + " s" +
         std::to_string(stride) + " p" + std::to_string(padding);
}

// The second of two runs: the first pays for oneDNN's primitive creation
// and for first-touch allocation, which every later step avoids.
template <typename F>
std::pair<torch::Tensor, double> timed(F f) {
  torch::Tensor r = f();
  const auto t0 = std::chrono::steady_clock::now();
  r = f();
  return {r,
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()};
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
    torch::Tensor gx, gw;
    const int k = int(w.size(2));
    auto gemm_w = [&] { return conv2d_weight_grad_gemm(g, x, k, stride, padding); };
    auto lib_w = [&] { return library_grad(g, x, w, stride, padding, false); };
    auto gemm_x = [&] {
      return conv2d_input_grad_gemm(g, w, int(x.size(2)), int(x.size(3)), stride, padding);
    };
    auto lib_x = [&] { return library_grad(g, x, w, stride, padding, true); };
    if (known) {
      if (want_w) gw = choice.weight_gemm ? gemm_w() : lib_w();
      if (want_x) gx = choice.input_gemm ? gemm_x() : lib_x();
    } else {
      // Time both ways once, keep the faster result and remember the choice.
      if (want_w) {
        auto [lib, lib_ms] = timed(lib_w);
        auto [gemm, gemm_ms] = timed(gemm_w);
        choice.weight_ms[0] = lib_ms, choice.weight_ms[1] = gemm_ms;
        choice.weight_gemm = gemm_ms < lib_ms;
        gw = choice.weight_gemm ? gemm : lib;
      }
      if (want_x) {
        auto [lib, lib_ms] = timed(lib_x);
        auto [gemm, gemm_ms] = timed(gemm_x);
        choice.input_ms[0] = lib_ms, choice.input_ms[1] = gemm_ms;
        choice.input_gemm = gemm_ms < lib_ms;
        gx = choice.input_gemm ? gemm : lib;
      }
      std::lock_guard<std::mutex> lock(choices_mutex());
      choices()[key] = choice;
    }
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
