// tessera bench peak: the machine's matmul peak through the same LibTorch,
// which bench/step.sh divides the step's rate by.
#include <chrono>

#include <torch/torch.h>

#include "bench_commands.h"
#include "bench_timing.h"

namespace tessera::app {
namespace {

// The machine's matmul peak through the same LibTorch.
int run_peak_bench(int threads, int n) {
  torch::set_num_threads(threads);
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    const torch::Tensor a = torch::randn({n, n}).to(dtype), b = torch::randn({n, n}).to(dtype);
    torch::Tensor c = torch::matmul(a, b);
    std::vector<double> times;
    for (int i = 0; i < 5; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      c = torch::matmul(a, b);
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("peak: dtype=%s n=%d threads=%d gflops_per_s=%.1f\n",
                dtype == torch::kFloat32 ? "fp32" : "bf16", n, threads,
                2.0 * n * n * double(n) / median(times) / 1e9);
  }
  return 0;
}

}  // namespace

Command add_peak_bench(CLI::App* bench) {
  auto peak_threads = std::make_shared<int>(2);
  auto peak_n = std::make_shared<int>(2048);
  CLI::App* peak =
      bench->add_subcommand("peak", "the matmul peak (fp32 and bf16) through LibTorch");
  peak->add_option("--threads", *peak_threads, "intra-op threads");
  peak->add_option("--n", *peak_n, "matrix size");

  return {peak, [peak_threads, peak_n] { return run_peak_bench(*peak_threads, *peak_n); }};
}

}  // namespace tessera::app
