// tessera bench: timings whose last line is machine-readable, for bench/.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <thread>

#include <torch/csrc/autograd/profiler_legacy.h>

#include "commands.h"
#include "config_args.h"
#include "device_option.h"
#include "kernels_option.h"
#include "tessera/audio/encode.h"
#include "tessera/audio/loader.h"
#include "tessera/data/synth.h"
#include "tessera/features/feature_extractor.h"
#include "tessera/model/resnet.h"
#include "tessera/ops/conv.h"
#include "tessera/sampling/batch_pipeline.h"
#include "tessera/train/run_data.h"
#include "tessera/train/train_step.h"

#include <sys/resource.h>

namespace tessera::app {
namespace {

struct FeaturesBenchArgs {
  ConfigArgs config;
  int clips = 200;
  int threads = 1;
  bool with_decode = false;
  int file_rate_hz = 44100;
  int file_channels = 4;
};

// A 10 s test clip: a few partials over noise, so the FFT sees real content.
audio::AudioBuffer make_clip(int rate, int channels, double seconds, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  audio::AudioBuffer a;
  a.sample_rate_hz = rate;
  a.channels = channels;
  const std::size_t n = static_cast<std::size_t>(seconds * rate);
  a.samples.resize(n * channels);
  for (int c = 0; c < channels; ++c) {
    float* x = a.channel(c);
    for (std::size_t i = 0; i < n; ++i) {
      const double t = double(i) / rate;
      x[i] = 0.3f * float(std::sin(2 * M_PI * 440 * t) + 0.5 * std::sin(2 * M_PI * 1320 * t)) +
             noise(rng);
    }
  }
  return a;
}

// Runs work(i) for i in [0, n) on `threads` threads; returns the seconds taken.
template <typename F>
double timed_parallel(int n, int threads, F work) {
  std::atomic<int> next{0};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) work(i);
    });
  }
  for (auto& th : pool) th.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_features_bench(const FeaturesBenchArgs& a) {
  const common::Config cfg = load_config(a.config);
  const features::FeatureExtractor fx(features::FeatureOptions::from_config(cfg));
  const audio::AudioOptions ao = audio::AudioOptions::from_config(cfg);
  const int distinct = std::min(a.clips, 8);  // a few distinct clips, reused
  std::vector<audio::AudioBuffer> clips;
  std::vector<std::string> files;
  std::string dir;
  if (a.with_decode) {
    dir = (std::filesystem::temp_directory_path() / ("tessera_bench_" + std::to_string(::getpid())))
              .string();
    std::filesystem::create_directories(dir);
    for (int i = 0; i < distinct; ++i) {
      files.push_back(dir + "/clip" + std::to_string(i) + ".wav");
      audio::write_wav(files.back(),
                       make_clip(a.file_rate_hz, a.file_channels, cfg.sample_size, i));
    }
  } else {
    for (int i = 0; i < distinct; ++i) {
      clips.push_back(make_clip(cfg.sample_rate, 1, cfg.sample_size, i));
    }
  }
  std::atomic<long> frames{0};
  auto work = [&](int i) {
    if (a.with_decode) {
      const audio::AudioBuffer x = audio::load_audio(files[i % distinct], ao);
      frames += fx.compute(x).frames;
    } else {
      const audio::AudioBuffer& x = clips[i % distinct];
      frames += fx.compute(x.samples.data(), x.samples.size()).frames;
    }
  };
  timed_parallel(std::min(a.clips, 2 * a.threads), a.threads, work);  // warm-up
  frames = 0;
  const double secs = timed_parallel(a.clips, a.threads, work);
  if (!dir.empty()) std::filesystem::remove_all(dir);
  std::printf("features: clips=%d threads=%d with_decode=%d clips_per_s=%.1f ms_per_clip=%.3f\n",
              a.clips, a.threads, a.with_decode ? 1 : 0, a.clips / secs, 1000.0 * secs / a.clips);
  return frames.load() > 0 ? 0 : 1;
}

struct StepBenchArgs {
  std::string model = "resnet18", precision = "fp32", device = "cpu";
  int width = 64, embedding = 512, batch = 16, threads = 2, steps = 5, warmup = 2, frames = 198,
      bins = 128;
  std::string layout = "auto";
  std::string adam = "auto";  // train/fused_adam.h
  bool cuda_graph = false;
  std::string kernels = "all";  // ops/kernel_options.h
  bool flush_denormal = false;
  std::string profile;  // a Chrome trace of one extra step, when set
};

double peak_rss_mb() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty()
             ? 0
             : (v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]));
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
  mo.kernels = ops::KernelOptions::parse(a.kernels);
  const torch::Device device(a.device);
  model::ResNet net(mo);
  net->to(device);
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
  loss::TripletLossOptions lo;
  train::StepOptions so;
  so.precision = train::parse_precision(a.precision);
  so.layout = train::parse_layout(a.layout);
  so.adam = train::parse_adam_update(a.adam);
  so.cuda_graph = a.cuda_graph;
  train::StepRunner runner(net, adam, loss::TripletLoss(lo), 0.0, device, so);
  // On the device already, as the peer's are: the step alone is timed (in
  // training, train/device_feeder.h overlaps the copy with the step before).
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
  for (const auto& line : ops::conv_backward_choices()) std::printf("conv: %s\n", line.c_str());
  const double med = median(times);
  const double gflop_per_triplet =
      3.0 * 3.0 * 2.0 * double(model::forward_macs(mo, a.frames, a.bins)) / 1e9;
  std::printf(
      "step: model=%s width=%d batch=%d threads=%d precision=%s layout=%s "
      "kernels=%s adam=%s graph_replays=%lld median_step_s=%.4f min_step_s=%.4f "
      "triplets_per_s=%.2f gflops_per_s=%.1f gflop_per_triplet=%.2f peak_rss_mb=%.0f\n",
      a.model.c_str(), a.width, a.batch, a.threads, a.precision.c_str(),
      runner.bf16_channels_last() || runner.channels_last_weights() ? "nhwc" : "nchw",
      net->options().kernels.describe().c_str(), train::adam_update_name(runner.adam_update()),
      static_cast<long long>(runner.graph_replays()), med,
      *std::min_element(times.begin(), times.end()), a.batch / med,
      gflop_per_triplet * a.batch / med, gflop_per_triplet, peak_rss_mb());
  return 0;
}

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

struct PipelineBenchArgs {
  int clips_per_class = 6, threads = 2, batch = 256;
  bool per_tile_baseline = true;
};

// Triplets/s delivered by the pipeline: cold cache (features computed and
// stored), warm cache (mapped), and a pipeline that recomputes the three
// tiles' features for every triplet.
int run_pipeline_bench(const PipelineBenchArgs& a) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("tessera_pipe_" + std::to_string(::getpid())))
          .string();
  data::SynthOptions so;
  so.output_dir = dir + "/data";
  so.clips_per_class = a.clips_per_class;
  so.threads = a.threads;
  data::write_synth_dataset(so);
  common::Config c;
  c.dcase_dataset_path = so.output_dir;
  c.batch_size = a.batch;
  c.gen_count = a.threads;
  c.num_parallel_calls = a.threads;
  c.cache_dir = dir + "/cache";
  // One pool of batch blocks for both epochs, as the trainer keeps one for
  // its session: the warm epoch reuses the cold one's blocks.
  std::shared_ptr<sampling::BufferPool> blocks;
  auto epoch = [&](const char* name) {
    const auto t0 = std::chrono::steady_clock::now();
    train::RunData d = train::RunData::load(c, dir, a.threads);
    const auto specs = sampling::TripletSampler(sampling::SamplerOptions::from_config(c))
                           .sample(d.train->tile_counts(), 1);
    const auto po = sampling::PipelineOptions::from_config(c);
    if (!blocks)
      blocks = sampling::BufferPool::create(po.batch_floats(d.train->geometry().tile_floats()));
    sampling::BatchPipeline p(*d.train, specs, po, blocks);
    sampling::TripletBatch b;
    std::size_t n = 0;
    while (p.next(b)) n += b.size;
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf(
        "pipeline: cache=%s threads=%d batch=%d triplets=%zu seconds=%.3f triplets_per_s=%.1f\n",
        name, a.threads, a.batch, n, secs, n / secs);
    return specs;
  };
  epoch("cold");
  const auto specs = epoch("warm");
  if (a.per_tile_baseline) {
    // No cache: decode each recording and compute each tile's features anew.
    train::RunData d = train::RunData::load(c, dir, a.threads);
    const features::FeatureExtractor fx(features::FeatureOptions::from_config(c));
    const audio::AudioOptions ao = audio::AudioOptions::from_config(c);
    const int tile = c.tile_samples();
    const std::size_t limit = std::min<std::size_t>(specs.size(), 300);
    std::atomic<std::size_t> done{0};
    const double secs = timed_parallel(int(limit), a.threads, [&](int i) {
      const auto& s = specs[std::size_t(i)];
      for (auto [rec, t] :
           {std::pair{s.anchor_rec, s.anchor_tile}, std::pair{s.anchor_rec, s.neighbour_tile},
            std::pair{s.opposite_rec, s.opposite_tile}}) {
        const audio::AudioBuffer x = audio::load_audio(d.train->recording(rec).path, ao);
        fx.compute(x.samples.data() + std::size_t(t) * tile, std::size_t(tile));
      }
      ++done;
    });
    std::printf(
        "pipeline: cache=none-per-tile threads=%d batch=%d triplets=%zu seconds=%.3f "
        "triplets_per_s=%.1f\n",
        a.threads, a.batch, done.load(), secs, done.load() / secs);
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("bench", "benchmarks with machine-readable output");
  cmd->require_subcommand(1);
  auto fa = std::make_shared<FeaturesBenchArgs>();
  CLI::App* feat =
      cmd->add_subcommand("features", "time log-mel extraction of synthetic 10 s clips");
  feat->add_option("--clips", fa->clips, "number of clips")->check(CLI::PositiveNumber);
  feat->add_option("--threads", fa->threads, "worker threads")->check(CLI::PositiveNumber);
  feat->add_flag("--with-decode", fa->with_decode,
                 "decode WAV files (44.1 kHz, 4 channels) and resample too");
  fa->config.add_to(feat, false);

  auto sa = std::make_shared<StepBenchArgs>();
  CLI::App* step =
      cmd->add_subcommand("step", "time the training step on random tiles of Table 1's shape");
  step->add_option("--model", sa->model, "resnet18, resnet34 or resnet50")
      ->check(CLI::IsMember({"resnet18", "resnet34", "resnet50"}));
  step->add_option("--width", sa->width, "filters of the first stage");
  step->add_option("--embedding", sa->embedding, "embedding size");
  step->add_option("--batch", sa->batch, "triplets per step");
  step->add_option("--threads", sa->threads, "intra-op threads");
  step->add_option("--steps", sa->steps, "timed steps");
  step->add_option("--warmup", sa->warmup, "untimed steps first");
  step->add_option("--precision", sa->precision, "fp32 or bf16")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  add_device_option(step, sa->device);
  step->add_option("--frames", sa->frames, "tile frames (Table 1: 198)");
  step->add_option("--bins", sa->bins, "mel bins (Table 1: 128)");
  step->add_option("--layout", sa->layout,
                   "auto (NHWC activations in bf16), nchw, or nhwc (fp32 too, with NHWC weights)")
      ->check(CLI::IsMember({"auto", "nchw", "nhwc"}));
  add_kernels_option(step, sa->kernels);
  step->add_option("--adam", sa->adam, "Adam's update: auto, loop or fused")
      ->check(CLI::IsMember({"auto", "loop", "fused"}));
  step->add_flag("--cuda-graph", sa->cuda_graph,
                 "replay the step from a CUDA graph (captured after 3 steps; --warmup is raised "
                 "to 4 so that only replays are timed)");
  step->add_flag("--flush-denormal", sa->flush_denormal, "flush denormal floats to zero");
  step->add_option("--profile", sa->profile, "write a Chrome trace of one more step to this file");

  auto peak_threads = std::make_shared<int>(2);
  auto peak_n = std::make_shared<int>(2048);
  CLI::App* peak = cmd->add_subcommand("peak", "the matmul peak (fp32 and bf16) through LibTorch");
  peak->add_option("--threads", *peak_threads, "intra-op threads");
  peak->add_option("--n", *peak_n, "matrix size");

  auto pa = std::make_shared<PipelineBenchArgs>();
  CLI::App* pipe =
      cmd->add_subcommand("pipeline", "triplets/s of the data pipeline: cold and warm cache");
  pipe->add_option("--clips-per-class", pa->clips_per_class,
                   "synthetic clips per class (9 classes)");
  pipe->add_option("--threads", pa->threads, "worker threads");
  pipe->add_option("--batch", pa->batch, "batch size (Table 1: 256)");
  return {cmd, [=] {
            if (feat->parsed()) return run_features_bench(*fa);
            if (step->parsed()) return run_step_bench(*sa);
            if (peak->parsed()) return run_peak_bench(*peak_threads, *peak_n);
            if (pipe->parsed()) return run_pipeline_bench(*pa);
            return 2;
          }};
}

}  // namespace tessera::app
