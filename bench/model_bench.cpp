// Micro-benchmarks of Tessera's own operators (src/tessera/ops/) against
// LibTorch's (Google Benchmark): the fused batch norm, the stem's batch norm
// and pool as one operator, and every way of a bf16 convolution's forward and
// gradients that ops/conv.h chooses from, on ResNet18's shapes at 16
// triplets (48 tiles of 198x128), 2 intra-op threads.
#include <benchmark/benchmark.h>

#include "tessera/ops/batch_norm.h"
#include "tessera/ops/conv.h"
#include "tessera/ops/stem_pool.h"

namespace {

using tessera::ops::KernelOptions;

// Normal noise as a bf16 channels-last tensor (bf16 training's activations).
torch::Tensor random_bf16_nhwc(at::IntArrayRef shape) {
  return torch::randn(shape).to(torch::kBFloat16).contiguous(at::MemoryFormat::ChannelsLast);
}

// One computation of a bf16 3x3 convolution (padding 1) on ResNet18's
// shapes at 48 tiles, by every way ops/conv.h's tuner chooses from.
// Args: input channels, height, width, output channels, stride, and 1 for
// channels-last tensors (0: NCHW).
enum Op {
  kForwardLibrary,
  kForwardGemm,
  kInputLibrary,
  kInputFlipped,  // stride 1 only
  kInputGemm,
  kWeightLibrary,
  kWeightGemm
};
template <Op kOp>
void BM_Bf16Conv(benchmark::State& state) {
  namespace m = tessera::ops;
  torch::set_num_threads(2);
  torch::manual_seed(0);
  const std::int64_t c = state.range(0), h = state.range(1), w = state.range(2), o = state.range(3),
                     s = state.range(4), one = 1;
  if (kOp == kInputFlipped && s != 1) {
    state.SkipWithError("the flipped-kernel gradient is for stride 1");
    return;
  }
  const auto format =
      state.range(5) ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  const auto bf16 = torch::TensorOptions().dtype(torch::kBFloat16);
  const torch::Tensor x = torch::randn({48, c, h, w}, bf16).contiguous(format);
  const torch::Tensor wt = torch::randn({o, c, 3, 3}, bf16).contiguous(format);
  const torch::Tensor g =
      torch::randn({48, o, (h - 1) / s + 1, (w - 1) / s + 1}, bf16).contiguous(format);
  auto library = [&](bool input) {
    auto r = at::convolution_backward(g, x, wt, c10::nullopt, {s, s}, {one, one}, {one, one}, false,
                                      {0, 0}, 1, {input, !input, false});
    return input ? std::get<0>(r) : std::get<1>(r);
  };
  for (auto _ : state) {
    torch::Tensor r;
    switch (kOp) {
      case kForwardLibrary:
        r = at::conv2d(x, wt, {}, {s, s}, {one, one});
        break;
      case kForwardGemm:
        r = m::conv2d_forward_gemm(x, wt, int(s), 1);
        break;
      case kInputLibrary:
        r = library(true);
        break;
      case kInputFlipped:
        r = m::conv2d_input_grad_flipped(g, wt, 1);
        break;
      case kInputGemm:
        r = m::conv2d_input_grad_gemm(g, wt, int(h), int(w), int(s), 1);
        break;
      case kWeightLibrary:
        r = library(false);
        break;
      case kWeightGemm:
        r = m::conv2d_weight_grad_gemm(g, x, 3, int(s), 1);
        break;
    }
    benchmark::DoNotOptimize(r.data_ptr());
  }
}
#define CONV_SHAPES                    \
  Args({64, 50, 32, 64, 1, 1})         \
      ->Args({128, 25, 16, 128, 1, 1}) \
      ->Args({128, 25, 16, 256, 2, 1}) \
      ->Args({256, 13, 8, 256, 1, 1})  \
      ->Args({256, 13, 8, 512, 2, 1})  \
      ->Args({512, 7, 4, 512, 1, 1})   \
      ->Args({64, 50, 32, 64, 1, 0})   \
      ->Args({128, 25, 16, 128, 1, 0}) \
      ->Args({128, 25, 16, 256, 2, 0}) \
      ->Args({256, 13, 8, 256, 1, 0})  \
      ->Args({256, 13, 8, 512, 2, 0})  \
      ->Args({512, 7, 4, 512, 1, 0})   \
      ->Unit(benchmark::kMillisecond)
BENCHMARK_TEMPLATE(BM_Bf16Conv, kForwardLibrary)->CONV_SHAPES;
BENCHMARK_TEMPLATE(BM_Bf16Conv, kForwardGemm)->CONV_SHAPES;
BENCHMARK_TEMPLATE(BM_Bf16Conv, kInputLibrary)->CONV_SHAPES;
BENCHMARK_TEMPLATE(BM_Bf16Conv, kInputFlipped)->CONV_SHAPES;
BENCHMARK_TEMPLATE(BM_Bf16Conv, kInputGemm)->CONV_SHAPES;
BENCHMARK_TEMPLATE(BM_Bf16Conv, kWeightLibrary)->CONV_SHAPES;
BENCHMARK_TEMPLATE(BM_Bf16Conv, kWeightGemm)->CONV_SHAPES;

// The stem's bf16 forward on 48 NHWC tiles of 198x128: LibTorch's 7x7
// stride-2 convolution, or the stride-1 one on phase planes.
template <bool kPhasePlanes>
void BM_Bf16StemForward(benchmark::State& state) {
  torch::set_num_threads(2);
  torch::manual_seed(0);
  const auto bf16 = torch::TensorOptions().dtype(torch::kBFloat16);
  const auto nhwc = at::MemoryFormat::ChannelsLast;
  const torch::Tensor x = torch::randn({48, 1, 198, 128}, bf16);
  const torch::Tensor w = torch::randn({64, 1, 7, 7}, bf16).contiguous(nhwc);
  const std::int64_t two = 2, three = 3;
  for (auto _ : state) {
    torch::Tensor r = kPhasePlanes ? tessera::ops::conv2d_space_to_depth(x, w, 3)
                                   : at::conv2d(x, w, {}, {two, two}, {three, three});
    benchmark::DoNotOptimize(r.data_ptr());
  }
}
BENCHMARK_TEMPLATE(BM_Bf16StemForward, false)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Bf16StemForward, true)->Unit(benchmark::kMillisecond);

// Forward and backward of a block's last batch norm with its residual add and
// ReLU, bf16 NHWC, training: the fused operator (batch_norm.h) or LibTorch's
// batch norm, add_ and relu_. Args: tiles (48: 16 triplets; 768: Table 1's
// 256), channels, height, width.
template <bool kFused>
void BM_Bf16BatchNormAddRelu(benchmark::State& state) {
  torch::set_num_threads(2);
  torch::manual_seed(0);
  const std::vector<std::int64_t> shape{state.range(0), state.range(1), state.range(2),
                                        state.range(3)};
  const torch::Tensor x0 = random_bf16_nhwc(shape), r0 = random_bf16_nhwc(shape),
                      g = random_bf16_nhwc(shape);
  torch::nn::BatchNorm2d bn(shape[1]);
  for (auto _ : state) {
    torch::Tensor x = x0.detach().requires_grad_(), r = r0.detach().requires_grad_();
    torch::Tensor y;
    if (kFused) {
      y = tessera::ops::batch_norm(x, *bn, KernelOptions{}, true, r);
    } else {
      y = bn->forward(x);
      y.add_(r).relu_();
    }
    y.backward(g);
    benchmark::DoNotOptimize(x.grad().data_ptr());
  }
}
#define BN_SHAPES               \
  Args({48, 64, 50, 32})        \
      ->Args({48, 512, 7, 4})   \
      ->Args({768, 64, 50, 32}) \
      ->Args({768, 512, 7, 4})  \
      ->Unit(benchmark::kMillisecond)
BENCHMARK_TEMPLATE(BM_Bf16BatchNormAddRelu, true)->BN_SHAPES;
BENCHMARK_TEMPLATE(BM_Bf16BatchNormAddRelu, false)->BN_SHAPES;

// The stem's batch norm and max-pool, forward and backward, on bf16 NHWC
// [tiles, 64, 99, 64]: as one operator (true) or as LibTorch's batch norm
// and max-pool (false). Arg: tiles.
template <bool kFused>
void BM_StemBatchNormMaxPool(benchmark::State& state) {
  torch::set_num_threads(2);
  torch::manual_seed(0);
  const std::int64_t n = state.range(0);
  const torch::Tensor x0 = random_bf16_nhwc({n, 64, 99, 64});
  const torch::Tensor g = random_bf16_nhwc({n, 64, 50, 32});
  torch::nn::BatchNorm2d bn(64);
  for (auto _ : state) {
    torch::Tensor x = x0.detach().requires_grad_();
    KernelOptions kernels;
    kernels.fused_batch_norm = kFused;
    torch::Tensor y = tessera::ops::batch_norm_max_pool_3x3_s2(x, *bn, kernels);
    y.backward(g);
    benchmark::DoNotOptimize(x.grad().data_ptr());
  }
}
BENCHMARK_TEMPLATE(BM_StemBatchNormMaxPool, true)->Arg(48)->Arg(768)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_StemBatchNormMaxPool, false)
    ->Arg(48)
    ->Arg(768)
    ->Unit(benchmark::kMillisecond);

}  // namespace

// main(): bench/retained_memory_main.cpp.
