// tessera bench step: the training step alone, on random tiles of Table 1's
// shape, with the precision, layout, kernels and Adam update of a run.
#include <algorithm>
#include <chrono>

#include <torch/csrc/autograd/profiler_legacy.h>

#include "bench_commands.h"
#include "bench_timing.h"
#include "device_option.h"
#include "step_flags.h"
#include "tessera/model/resnet.h"
#include "tessera/ops/conv.h"
#include "tessera/train/train_step.h"

#include <sys/resource.h>

namespace tessera::app {
namespace {

struct StepBenchArgs {
  std::string model = "resnet18", device = "cpu";
  train::Precision precision = train::Precision::kFp32;
  int width = 64, embedding = 512, batch = 16, threads = 2, steps = 5, warmup = 2, frames = 198,
      bins = 128;
  train::Layout layout = train::Layout::kAuto;
  device::AdamUpdate adam = device::AdamUpdate::kAuto;
  bool cuda_graph = false;
  ops::KernelOptions kernels;
  bool flush_denormal = false;
  std::string profile;  // a Chrome trace of one extra step, when set
};

double peak_rss_mb() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

// The training step alone on random tiles of Table 1's shape.
int run_step_bench(const StepBenchArgs& a) {
  torch::set_num_threads(a.threads);
  if (a.flush_denormal) at::globalContext().setFlushDenormal(true);
  torch::manual_seed(0);
  model::ResNetOptions mo;
  mo.depth = a.model == "resnet34" ? 34 : a.model == "resnet50" ? 50 : 18;
  mo.width = a.width;
  mo.embedding_size = a.embedding;
  mo.kernels = a.kernels;
  const torch::Device device(a.device);
  model::ResNet net(mo);
  net->to(device);
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
  loss::TripletLossOptions lo;
  train::StepOptions so;
  so.precision = a.precision;
  so.layout = a.layout;
  so.adam = a.adam;
  so.cuda_graph = a.cuda_graph;
  train::StepRunner runner(net, adam, loss::TripletLoss(lo), 0.0, device, so);
  // On the device already, as the peer's are: the step alone is timed (in
  // training, device/device_feeder.h overlaps the copy with the step before).
  const torch::Tensor tiles =
      torch::randn({3 * std::int64_t(a.batch), 1, a.frames, a.bins}).to(device);
  // With a graph, the untimed steps cover its warm-up and its capture, so
  // that only replays are timed.
  const int warmup = a.cuda_graph ? std::max(a.warmup, so.cuda_graph_warmup + 1) : a.warmup;
  std::vector<double> times;
  for (int i = 0; i < warmup + a.steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    runner.step(tiles);
    if (device.is_cuda()) torch::cuda::synchronize();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (i >= warmup) times.push_back(dt);
  }
  if (!a.profile.empty()) {
    // Every operator of one more step, with its input shapes; open it in
    // chrome://tracing or Perfetto, or sum it by name (bench/profile_summary.py).
    torch::autograd::profiler::RecordProfile guard(a.profile);
    runner.step(tiles);
  }
  // What the bf16 convolutions settled on (ops/conv.h).
  for (const auto& line : net->conv_plan().describe()) std::printf("conv: %s\n", line.c_str());
  const double med = median(times);
  const double gflop_per_triplet =
      3.0 * 3.0 * 2.0 * double(model::forward_macs(mo, a.frames, a.bins)) / 1e9;
  std::printf(
      "step: model=%s width=%d batch=%d threads=%d precision=%s layout=%s "
      "kernels=%s adam=%s graph_replays=%lld median_step_s=%.4f min_step_s=%.4f "
      "triplets_per_s=%.2f gflops_per_s=%.1f gflop_per_triplet=%.2f peak_rss_mb=%.0f\n",
      a.model.c_str(), a.width, a.batch, a.threads, train::precision_name(a.precision),
      runner.bf16_channels_last() || runner.channels_last_weights() ? "nhwc" : "nchw",
      net->options().kernels.describe().c_str(), device::adam_update_name(runner.adam_update()),
      static_cast<long long>(runner.graph_replays()), med,
      *std::min_element(times.begin(), times.end()), a.batch / med,
      gflop_per_triplet * a.batch / med, gflop_per_triplet, peak_rss_mb());
  return 0;
}

}  // namespace

Command add_step_bench(CLI::App* bench) {
  auto sa = std::make_shared<StepBenchArgs>();
  CLI::App* step =
      bench->add_subcommand("step", "time the training step on random tiles of Table 1's shape");
  step->add_option("--model", sa->model, "resnet18, resnet34 or resnet50")
      ->check(CLI::IsMember({"resnet18", "resnet34", "resnet50"}));
  step->add_option("--width", sa->width, "filters of the first stage");
  step->add_option("--embedding", sa->embedding, "embedding size");
  step->add_option("--batch", sa->batch, "triplets per step");
  step->add_option("--threads", sa->threads, "intra-op threads");
  step->add_option("--steps", sa->steps, "timed steps");
  step->add_option("--warmup", sa->warmup, "untimed steps first");
  add_precision_option(step, sa->precision);
  add_device_option(step, sa->device);
  step->add_option("--frames", sa->frames, "tile frames (Table 1: 198)");
  step->add_option("--bins", sa->bins, "mel bins (Table 1: 128)");
  add_layout_option(step, sa->layout, /*with_nhwc=*/true);
  add_kernels_option(step, sa->kernels);
  add_adam_option(step, sa->adam);
  step->add_flag("--cuda-graph", sa->cuda_graph,
                 "replay the step from a CUDA graph (captured after 3 steps; --warmup is raised "
                 "to 4 so that only replays are timed)");
  step->add_flag("--flush-denormal", sa->flush_denormal, "flush denormal floats to zero");
  step->add_option("--profile", sa->profile, "write a Chrome trace of one more step to this file");

  return {step, [sa] { return run_step_bench(*sa); }};
}

}  // namespace tessera::app
