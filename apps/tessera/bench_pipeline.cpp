// tessera bench pipeline: triplets/s of the data pipeline on a synthetic
// dataset, from a cold and a warm feature cache, against recomputing each
// tile's features.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>

#include "bench_commands.h"
#include "bench_timing.h"
#include "tessera/audio/loader.h"
#include "tessera/data/synth.h"
#include "tessera/features/feature_extractor.h"
#include "tessera/sampling/batch_pipeline.h"
#include "tessera/sampling/run_data.h"
#include "tessera/study/config_options.h"

namespace tessera::app {
namespace {

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
  study::Config c;
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
    sampling::RunData d = sampling::RunData::load(study::run_data_options(c, dir), a.threads);
    const auto specs =
        sampling::TripletSampler(study::sampler_options(c)).sample(d.train->tile_counts(), 1);
    const auto po = study::pipeline_options(c);
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
    sampling::RunData d = sampling::RunData::load(study::run_data_options(c, dir), a.threads);
    const features::FeatureExtractor fx(study::feature_options(c));
    const audio::AudioOptions ao = study::audio_options(c);
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

Command add_pipeline_bench(CLI::App* bench) {
  auto pa = std::make_shared<PipelineBenchArgs>();
  CLI::App* pipe =
      bench->add_subcommand("pipeline", "triplets/s of the data pipeline: cold and warm cache");
  pipe->add_option("--clips-per-class", pa->clips_per_class,
                   "synthetic clips per class (9 classes)");
  pipe->add_option("--threads", pa->threads, "worker threads");
  pipe->add_option("--batch", pa->batch, "batch size (Table 1: 256)");
  return {pipe, [pa] { return run_pipeline_bench(*pa); }};
}

}  // namespace tessera::app
