// Micro-benchmarks of the model's own operators against LibTorch's (Google
// Benchmark): the stem max-pool and the two ways of a bf16 convolution's
// gradients, on ResNet18's shapes at 16 triplets (48 tiles of 198x128),
// 2 intra-op threads.
#include <benchmark/benchmark.h>

#include "tessera/common/allocator.h"
#include "tessera/model/conv.h"
#include "tessera/model/max_pool.h"

namespace {

using tessera::model::max_pool_3x3_s2;

torch::ScalarType dtype_of(const benchmark::State& state) {
  return state.range(0) ? torch::kBFloat16 : torch::kFloat32;
}

// Forward and backward of the stem's pool on [48, 64, 99, 64].
template <bool kOurs>
void BM_StemMaxPool(benchmark::State& state) {
  torch::set_num_threads(2);
  torch::manual_seed(0);
  const torch::Tensor x0 = torch::randn({48, 64, 99, 64}).to(dtype_of(state));
  const torch::Tensor g = torch::randn({48, 64, 50, 32}).to(dtype_of(state));
  for (auto _ : state) {
    torch::Tensor x = x0.detach().requires_grad_();
    torch::Tensor y = kOurs ? max_pool_3x3_s2(x) : torch::max_pool2d(x, 3, 2, 1);
    y.backward(g);
    benchmark::DoNotOptimize(x.grad().data_ptr());
  }
}
template <bool kOurs>
void BM_StemMaxPoolForward(benchmark::State& state) {
  torch::set_num_threads(2);
  torch::manual_seed(0);
  const torch::Tensor x = torch::randn({48, 64, 99, 64}).to(dtype_of(state));
  for (auto _ : state) {
    torch::Tensor y = kOurs ? max_pool_3x3_s2(x) : torch::max_pool2d(x, 3, 2, 1);
    benchmark::DoNotOptimize(y.data_ptr());
  }
}
BENCHMARK_TEMPLATE(BM_StemMaxPoolForward, true)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_StemMaxPoolForward, false)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_StemMaxPool, true)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_StemMaxPool, false)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// A bf16 convolution's weight gradient: oneDNN's backward or im2col + GEMM.
// Args: input channels, height, width, output channels, stride.
template <bool kGemm>
void BM_Bf16ConvWeightGrad(benchmark::State& state) {
  torch::set_num_threads(2);
  torch::manual_seed(0);
  const std::int64_t c = state.range(0), h = state.range(1), w = state.range(2), o = state.range(3),
                     s = state.range(4);
  const auto bf16 = torch::TensorOptions().dtype(torch::kBFloat16);
  const torch::Tensor x = torch::randn({48, c, h, w}, bf16);
  const torch::Tensor wt = torch::randn({o, c, 3, 3}, bf16);
  const torch::Tensor g = torch::randn({48, o, (h - 1) / s + 1, (w - 1) / s + 1}, bf16);
  for (auto _ : state) {
    torch::Tensor r =
        kGemm ? tessera::model::conv2d_weight_grad_gemm(g, x, 3, int(s), 1)
              : std::get<1>(at::convolution_backward(g, x, wt, c10::nullopt, {s, s}, {1, 1}, {1, 1},
                                                     false, {0, 0}, 1, {false, true, false}));
    benchmark::DoNotOptimize(r.data_ptr());
  }
}
#define CONV_SHAPES                 \
  Args({64, 50, 32, 64, 1})         \
      ->Args({128, 25, 16, 128, 1}) \
      ->Args({128, 25, 16, 256, 2}) \
      ->Args({256, 13, 8, 256, 1})  \
      ->Args({256, 13, 8, 512, 2})  \
      ->Args({512, 7, 4, 512, 1})   \
      ->Unit(benchmark::kMillisecond)
BENCHMARK_TEMPLATE(BM_Bf16ConvWeightGrad, false)->CONV_SHAPES;
BENCHMARK_TEMPLATE(BM_Bf16ConvWeightGrad, true)->CONV_SHAPES;

// A bf16 convolution's forward and input gradient, by oneDNN's forward and
// backward primitives and by a forward convolution of the output gradient:
// stride 1, the gradient of a 3x3 padding-1 convolution is the convolution of
// the output gradient with the weights flipped and transposed; stride 2, a
// transposed convolution. Arg 5: 1 for channels-last tensors.
// Variant 0: forward; 1: library input grad; 2: input grad as a forward op.
template <int kVariant>
void BM_Bf16Conv(benchmark::State& state) {
  torch::set_num_threads(2);
  torch::manual_seed(0);
  const std::int64_t c = state.range(0), h = state.range(1), w = state.range(2), o = state.range(3),
                     s = state.range(4);
  const auto format = state.range(5) ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  const auto bf16 = torch::TensorOptions().dtype(torch::kBFloat16);
  const torch::Tensor x = torch::randn({48, c, h, w}, bf16).contiguous(format);
  const torch::Tensor wt = torch::randn({o, c, 3, 3}, bf16).contiguous(format);
  const torch::Tensor g =
      torch::randn({48, o, (h - 1) / s + 1, (w - 1) / s + 1}, bf16).contiguous(format);
  const torch::Tensor flipped = wt.flip({2, 3}).transpose(0, 1).contiguous(format);
  for (auto _ : state) {
    torch::Tensor r;
    if (kVariant == 0) {
      r = at::conv2d(x, wt, {}, {s, s}, {1, 1});
    } else if (kVariant == 3) {
      r = std::get<1>(at::convolution_backward(g, x, wt, c10::nullopt, {s, s}, {1, 1}, {1, 1},
                                               false, {0, 0}, 1, {false, true, false}));
    } else if (kVariant == 1) {
      r = std::get<0>(at::convolution_backward(g, x, wt, c10::nullopt, {s, s}, {1, 1}, {1, 1},
                                               false, {0, 0}, 1, {true, false, false}));
    } else if (s == 1) {
      r = at::conv2d(g, flipped, {}, {1, 1}, {1, 1});
    } else {
      const std::int64_t oph = h - ((g.size(2) - 1) * s - 2 + 3), opw = w - ((g.size(3) - 1) * s - 2 + 3);
      r = at::conv_transpose2d(g, wt, {}, {s, s}, {1, 1}, {oph, opw});
    }
    benchmark::DoNotOptimize(r.data_ptr());
  }
}
#define CONV_SHAPES_FORMAT                \
  Args({64, 50, 32, 64, 1, 0})            \
      ->Args({128, 25, 16, 128, 1, 0})    \
      ->Args({128, 25, 16, 256, 2, 0})    \
      ->Args({256, 13, 8, 256, 1, 0})     \
      ->Args({256, 13, 8, 512, 2, 0})     \
      ->Args({512, 7, 4, 512, 1, 0})      \
      ->Args({64, 50, 32, 64, 1, 1})      \
      ->Args({128, 25, 16, 128, 1, 1})    \
      ->Args({128, 25, 16, 256, 2, 1})    \
      ->Args({256, 13, 8, 256, 1, 1})     \
      ->Args({256, 13, 8, 512, 2, 1})     \
      ->Args({512, 7, 4, 512, 1, 1})      \
      ->Unit(benchmark::kMillisecond)
BENCHMARK_TEMPLATE(BM_Bf16Conv, 0)->CONV_SHAPES_FORMAT;
BENCHMARK_TEMPLATE(BM_Bf16Conv, 1)->CONV_SHAPES_FORMAT;
BENCHMARK_TEMPLATE(BM_Bf16Conv, 2)->CONV_SHAPES_FORMAT;
BENCHMARK_TEMPLATE(BM_Bf16Conv, 3)->CONV_SHAPES_FORMAT;

}  // namespace

// As `tessera` runs: freed memory stays in the process (common/allocator.h),
// else every iteration would time the kernel's page faults on fresh output.
int main(int argc, char** argv) {
  tessera::common::retain_freed_memory();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
