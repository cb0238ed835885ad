// Micro-benchmarks of the feature front end's pieces (Google Benchmark).
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "tessera/features/feature_extractor.h"
#include "tessera/features/real_fft.h"

namespace {

std::vector<float> noise(std::size_t n) {
  std::mt19937 rng(1);
  std::normal_distribution<float> d;
  std::vector<float> x(n);
  for (auto& v : x) v = d(rng);
  return x;
}

void BM_RealFft1024(benchmark::State& state) {
  tessera::features::RealFft fft(1024);
  auto scratch = fft.make_scratch();
  const auto x = noise(1024);
  std::vector<float> mag(fft.bins());
  for (auto _ : state) {
    fft.magnitude(x.data(), mag.data(), scratch);
    benchmark::DoNotOptimize(mag.data());
  }
}
BENCHMARK(BM_RealFft1024);

void BM_LogMel10s(benchmark::State& state) {
  tessera::features::FeatureExtractor fx{tessera::features::FeatureOptions{}};
  const auto x = noise(160000);
  for (auto _ : state) {
    auto m = fx.compute(x.data(), x.size());
    benchmark::DoNotOptimize(m.data.data());
  }
}
BENCHMARK(BM_LogMel10s)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
