// The convolution with tuned bf16 computations (ops/conv.h).
#include "tessera/ops/conv.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

namespace tessera::ops {
namespace {

double rel_err(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor d = a.to(torch::kFloat64) - b.to(torch::kFloat64);
  return (d.norm() / b.to(torch::kFloat64).norm()).item<double>();
}

struct Shape {
  std::int64_t n, c, h, w, o, k, stride, padding;
};

// A layer's fp64 forward and gradients by autograd through torch::conv2d,
// for a random output gradient g.
struct Reference {
  torch::Tensor x, w, y, g, gx, gw;
};
Reference reference(const Shape& s) {
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor x = torch::randn({s.n, s.c, s.h, s.w}, f64).requires_grad_();
  torch::Tensor w = torch::randn({s.o, s.c, s.k, s.k}, f64).requires_grad_();
  torch::Tensor y = torch::conv2d(x, w, {}, s.stride, s.padding);
  const torch::Tensor g = torch::randn(y.sizes(), f64);
  y.backward(g);
  return {x.detach(), w.detach(), y.detach(), g, x.grad(), w.grad()};
}

// The matrix-product gradients against autograd's through torch::conv2d,
// in fp64 where both are exact up to rounding: the stem, a 3x3 layer,
// stride 2 and a 1x1 projection, on odd map sizes.
TEST(ConvTest, GemmGradientsMatchAutograd) {
  torch::manual_seed(0);
  for (const Shape& s : {Shape{2, 1, 19, 12, 4, 7, 2, 3}, Shape{3, 5, 7, 4, 6, 3, 1, 1},
                         Shape{2, 4, 13, 8, 8, 3, 2, 1}, Shape{2, 4, 13, 8, 8, 1, 2, 0}}) {
    const Reference r = reference(s);
    const torch::Tensor gw =
        conv2d_weight_grad_gemm(r.g, r.x, int(s.k), int(s.stride), int(s.padding));
    const torch::Tensor gx =
        conv2d_input_grad_gemm(r.g, r.w, int(s.h), int(s.w), int(s.stride), int(s.padding));
    EXPECT_LT(rel_err(gw, r.gw), 1e-12) << "weight, k=" << s.k << " s=" << s.stride;
    EXPECT_LT(rel_err(gx, r.gx), 1e-12) << "input, k=" << s.k << " s=" << s.stride;
  }
}

// The same for the channels-last (NHWC) computations, and the forward
// product and the flipped-kernel input gradient, in both layouts; each
// answers in the layout it was given. The last shape has 10 samples of
// 64 x 50x32 maps: its unfolded input (7.4 MB a sample in fp64) is built in
// two chunks of at most 64 MB, whose partial sums must add up.
TEST(ConvTest, ChannelsLastGemmAndFlippedMatchAutograd) {
  torch::manual_seed(3);
  const auto nhwc = at::MemoryFormat::ChannelsLast;
  for (const Shape& s : {Shape{2, 1, 19, 12, 4, 7, 2, 3}, Shape{3, 5, 7, 4, 6, 3, 1, 1},
                         Shape{2, 4, 13, 8, 8, 3, 2, 1}, Shape{2, 4, 13, 8, 8, 1, 2, 0},
                         Shape{2, 3, 6, 5, 4, 3, 1, 0}, Shape{10, 64, 50, 32, 8, 3, 1, 1}}) {
    const Reference r = reference(s);
    const std::string what = "c=" + std::to_string(s.c) + " k=" + std::to_string(s.k) +
                             " s=" + std::to_string(s.stride) + " p=" + std::to_string(s.padding);
    const torch::Tensor xl = r.x.contiguous(nhwc), gl = r.g.contiguous(nhwc);
    const torch::Tensor& wd = r.w;
    const torch::Tensor yl = conv2d_forward_gemm(xl, wd, int(s.stride), int(s.padding));
    const torch::Tensor gw =
        conv2d_weight_grad_gemm(gl, xl, int(s.k), int(s.stride), int(s.padding));
    const torch::Tensor gx =
        conv2d_input_grad_gemm(gl, wd, int(s.h), int(s.w), int(s.stride), int(s.padding));
    EXPECT_LT(rel_err(yl, r.y), 1e-12) << "forward, " << what;
    EXPECT_LT(rel_err(gw, r.gw), 1e-12) << "weight, " << what;
    EXPECT_LT(rel_err(gx, r.gx), 1e-12) << "input, " << what;
    if (s.o > 1 && s.c > 1) {
      EXPECT_TRUE(yl.is_contiguous(nhwc) && !yl.is_contiguous()) << what;
      EXPECT_TRUE(gx.is_contiguous(nhwc) && !gx.is_contiguous()) << what;
    }
    if (s.c > 1) {  // one channel is both layouts, and counts as NHWC
      EXPECT_TRUE(conv2d_forward_gemm(r.x, wd, int(s.stride), int(s.padding)).is_contiguous());
    }
    if (s.stride == 1) {
      for (const torch::Tensor& gg : {r.g, gl}) {
        const torch::Tensor f = conv2d_input_grad_flipped(gg, wd, int(s.padding));
        EXPECT_LT(rel_err(f, r.gx), 1e-12) << "flipped, " << what;
        EXPECT_EQ(f.is_contiguous(), gg.is_contiguous()) << what;
      }
    }
  }
}

// The stride-2 convolution on phase planes (space to depth) against
// LibTorch's stride-2 one, in fp64, in both layouts: values and both
// gradients through autograd, on odd and even map sizes, kernels 3 to 7 and
// paddings 0 to 3 (the stem is the first shape).
TEST(ConvTest, SpaceToDepthEqualsStrideTwoConvolution) {
  torch::manual_seed(5);
  for (const Shape& s : {Shape{2, 1, 19, 12, 4, 7, 2, 3}, Shape{2, 3, 13, 8, 5, 3, 2, 1},
                         Shape{2, 2, 10, 9, 3, 5, 2, 2}, Shape{1, 4, 8, 8, 2, 3, 2, 0},
                         Shape{1, 1, 9, 7, 2, 4, 2, 1}}) {
    for (bool nhwc : {false, true}) {
      const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
      const auto format = nhwc ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
      const torch::Tensor x0 = torch::randn({s.n, s.c, s.h, s.w}, f64).contiguous(format);
      const torch::Tensor w0 = torch::randn({s.o, s.c, s.k, s.k}, f64);
      torch::Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_();
      torch::Tensor xr = x0.clone().requires_grad_(), wr = w0.clone().requires_grad_();
      const torch::Tensor y = conv2d_space_to_depth(x, w, int(s.padding));
      const torch::Tensor yr = torch::conv2d(xr, wr, {}, 2, s.padding);
      const std::string what = "c=" + std::to_string(s.c) + " k=" + std::to_string(s.k) +
                               " p=" + std::to_string(s.padding) + (nhwc ? " nhwc" : " nchw");
      ASSERT_EQ(y.sizes(), yr.sizes()) << what;
      EXPECT_LT(rel_err(y, yr), 1e-12) << what;
      const torch::Tensor g = torch::randn(yr.sizes(), f64);
      y.backward(g);
      yr.backward(g);
      EXPECT_LT(rel_err(w.grad(), wr.grad()), 1e-12) << what;
      EXPECT_LT(rel_err(x.grad(), xr.grad()), 1e-12) << what;
    }
  }
}

struct Grads {
  torch::Tensor y, gx, gw;
};

// Every kernel on, channels-last (the default), or NCHW.
KernelOptions nchw() {
  KernelOptions k;
  k.bf16_channels_last = false;
  return k;
}

// ours: ops::conv2d with these kernel options; else LibTorch's convolution.
// `plan` keeps the tuner's choices; without one, a plan of this call's own.
Grads run(bool ours, const torch::Tensor& x0, const torch::Tensor& w0, const torch::Tensor& g,
          int stride, int padding, const KernelOptions& kernels = {}, ConvPlan* plan = nullptr) {
  ConvPlan own;
  torch::Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_();
  at::autocast::set_autocast_enabled(at::kCPU, true);
  at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
  torch::Tensor y = ours ? conv2d(x, w, stride, padding, kernels, plan ? plan : &own)
                         : torch::conv2d(x, w, {}, stride, padding);
  at::autocast::set_autocast_enabled(at::kCPU, false);
  at::autocast::clear_cache();
  y.backward(g.to(y.scalar_type()));
  return {y.detach(), x.grad(), w.grad()};
}

// Under bf16 autocast the tuned convolution computes what LibTorch's does:
// the same forward, fp32 gradients for fp32 leaves that agree to bf16
// precision, whichever computation the tuner kept; and its choice is listed.
TEST(ConvTest, TunedBf16MatchesAutocastConvolution) {
  torch::manual_seed(1);
  const int stride = 2, padding = 1;
  const torch::Tensor x = torch::randn({8, 16, 13, 8}), w = torch::randn({32, 16, 3, 3}) * 0.1;
  const torch::Tensor g = torch::randn({8, 32, 7, 4});
  ConvPlan plan;
  for (int round = 0; round < 2; ++round) {  // the first tunes, the second uses the choice
    const Grads a = run(true, x, w, g, stride, padding, nchw(), &plan),
                b = run(false, x, w, g, stride, padding);
    EXPECT_EQ(a.y.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(torch::equal(a.y, b.y));
    EXPECT_EQ(a.gw.scalar_type(), torch::kFloat32);
    EXPECT_EQ(a.gx.scalar_type(), torch::kFloat32);
    EXPECT_LT(rel_err(a.gw, b.gw), 1e-2) << round;
    EXPECT_LT(rel_err(a.gx, b.gx), 1e-2) << round;
  }
  bool listed = false;
  for (const auto& line : plan.describe())
    listed |= line.find("x[16,13,8] w[32,16,3,3] s2 p1: weight ") != std::string::npos &&
              line.find(", input ") != std::string::npos;
  EXPECT_TRUE(listed);
}

// With bf16_channels_last the bf16 convolution takes and gives NHWC, and
// computes what LibTorch's NCHW bf16 convolution does to bf16 precision
// (the forward may be a GEMM now, so not bit for bit), whichever ways the
// tuner kept; the choices are listed under the layout's own key. Without
// it the output stays NCHW.
TEST(ConvTest, ChannelsLastBf16MatchesAutocastConvolution) {
  torch::manual_seed(4);
  const auto nhwc = at::MemoryFormat::ChannelsLast;
  const torch::Tensor x = torch::randn({8, 16, 25, 16}), w = torch::randn({16, 16, 3, 3}) * 0.1;
  const torch::Tensor g = torch::randn({8, 16, 25, 16});
  EXPECT_TRUE(run(true, x, w, g, 1, 1, nchw()).y.is_contiguous());
  ConvPlan plan;
  for (int round = 0; round < 2; ++round) {
    const Grads a = run(true, x, w, g, 1, 1, {}, &plan);
    const Grads b = run(false, x, w, g, 1, 1);
    EXPECT_EQ(a.y.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(a.y.is_contiguous(nhwc) && !a.y.is_contiguous());
    EXPECT_LT(rel_err(a.y, b.y), 1e-2) << round;
    EXPECT_EQ(a.gw.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(a.gw.is_contiguous());  // the fp32 leaves keep their layout
    EXPECT_TRUE(a.gx.is_contiguous());
    EXPECT_LT(rel_err(a.gw, b.gw), 1e-2) << round;
    EXPECT_LT(rel_err(a.gx, b.gx), 1e-2) << round;
  }
  bool listed = false;
  for (const auto& line : plan.describe())
    listed |= line.find("BFloat16 nhwc x[16,25,16] w[16,16,3,3] s1 p1: forward ") == 0 &&
              line.find(", weight ") != std::string::npos &&
              line.find(", input ") != std::string::npos;
  EXPECT_TRUE(listed);
}

// The stem on channels-last runs on phase planes: a 4-channel 4x4
// stride-1 layer is tuned in its place, and the result is LibTorch's NCHW
// bf16 stem to bf16 precision, its weight gradient too.
TEST(ConvTest, ChannelsLastBf16StemRunsOnPhasePlanes) {
  torch::manual_seed(6);
  const torch::Tensor x = torch::randn({4, 1, 38, 24}), w = torch::randn({8, 1, 7, 7}) * 0.1;
  const torch::Tensor g = torch::randn({4, 8, 19, 12});
  ConvPlan plan;
  const Grads a = run(true, x, w, g, 2, 3, {}, &plan);
  const Grads b = run(false, x, w, g, 2, 3);
  ASSERT_EQ(a.y.sizes(), b.y.sizes());
  EXPECT_TRUE(a.y.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_LT(rel_err(a.y, b.y), 1e-2);
  EXPECT_LT(rel_err(a.gw, b.gw), 1e-2);
  EXPECT_LT(rel_err(a.gx, b.gx), 1e-2);
  bool listed = false;
  for (const auto& line : plan.describe())
    listed |= line.find("BFloat16 nhwc x[4,22,15] w[8,4,4,4] s1 p0: forward ") == 0;
  EXPECT_TRUE(listed);
}

// fp32 (and tuning switched off) is plain torch::conv2d, bit for bit; off
// on channels-last, it is LibTorch's convolution of NHWC bf16 copies.
TEST(ConvTest, Fp32IsLibTorchConvolution) {
  torch::manual_seed(2);
  torch::Tensor x = torch::randn({2, 3, 9, 9}).requires_grad_();
  const torch::Tensor w = torch::randn({4, 3, 3, 3});
  const torch::Tensor y = conv2d(x, w, 1, 1, KernelOptions{}, nullptr);
  EXPECT_TRUE(torch::equal(y, torch::conv2d(x, w, {}, 1, 1)));
  KernelOptions untuned = nchw();
  untuned.conv_tuning = false;
  const Grads a = run(true, x.detach(), w, torch::randn({2, 4, 9, 9}), 1, 1, untuned);
  const Grads b = run(false, x.detach(), w, torch::randn({2, 4, 9, 9}), 1, 1);
  untuned.bf16_channels_last = true;
  const torch::Tensor nhwc_y =
      run(true, x.detach(), w, torch::randn({2, 4, 9, 9}), 1, 1, untuned).y;
  EXPECT_TRUE(torch::equal(a.y, b.y));
  const auto cl = at::MemoryFormat::ChannelsLast;
  const torch::Tensor library = torch::conv2d(x.detach().to(torch::kBFloat16).contiguous(cl),
                                              w.to(torch::kBFloat16).contiguous(cl), {}, 1, 1);
  EXPECT_TRUE(nhwc_y.is_contiguous(cl) && !nhwc_y.is_contiguous());
  EXPECT_TRUE(torch::equal(nhwc_y, library));
}

}  // namespace
}  // namespace tessera::ops
