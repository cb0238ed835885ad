// Micro-benchmarks of the training step's parts outside the model (Google
// Benchmark): one Adam update of ResNet18's parameters at Table 1's width
// (64, embedding 512: 11.4M floats), LibTorch's torch::optim::Adam against
// Tessera's one-pass FusedAdam (train/fused_adam.h). Arg: intra-op threads.
#include <benchmark/benchmark.h>

#include "tessera/model/resnet.h"
#include "tessera/train/fused_adam.h"

namespace {

template <bool kFused>
void BM_AdamStep(benchmark::State& state) {
  torch::set_num_threads(int(state.range(0)));
  torch::manual_seed(0);
  tessera::model::ResNetOptions mo;  // ResNet18, width 64, embedding 512
  tessera::model::ResNet net(mo);
  std::int64_t floats = 0;
  for (auto& p : net->parameters()) {
    p.mutable_grad() = torch::randn_like(p);
    floats += p.numel();
  }
  std::unique_ptr<torch::optim::Adam> adam =
      kFused ? std::make_unique<tessera::train::FusedAdam>(net->parameters())
             : std::make_unique<torch::optim::Adam>(net->parameters());
  adam->step();  // the moments are allocated on the first step
  for (auto _ : state) adam->step();
  state.counters["params"] = double(floats);
  // Bytes the one-pass update must move: read p, g, m, v; write p, m, v.
  state.counters["min_GB/s"] =
      benchmark::Counter(7.0 * 4 * double(floats) * double(state.iterations()),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
BENCHMARK_TEMPLATE(BM_AdamStep, false)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_AdamStep, true)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace

// main(): bench/retained_memory_main.cpp.
