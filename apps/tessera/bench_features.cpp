// tessera bench features: log-mel extraction of synthetic 10 s clips, from
// samples in memory or decoded from WAV files.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <random>

#include "bench_commands.h"
#include "bench_timing.h"
#include "config_args.h"
#include "tessera/audio/encode.h"
#include "tessera/audio/loader.h"
#include "tessera/features/feature_extractor.h"
#include "tessera/study/config_options.h"

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

int run_features_bench(const FeaturesBenchArgs& a) {
  const study::Config cfg = load_config(a.config);
  const features::FeatureExtractor fx(study::feature_options(cfg));
  const audio::AudioOptions ao = study::audio_options(cfg);
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

}  // namespace

Command add_features_bench(CLI::App* bench) {
  auto fa = std::make_shared<FeaturesBenchArgs>();
  CLI::App* feat =
      bench->add_subcommand("features", "time log-mel extraction of synthetic 10 s clips");
  feat->add_option("--clips", fa->clips, "number of clips")->check(CLI::PositiveNumber);
  feat->add_option("--threads", fa->threads, "worker threads")->check(CLI::PositiveNumber);
  feat->add_flag("--with-decode", fa->with_decode,
                 "decode WAV files (44.1 kHz, 4 channels) and resample too");
  fa->config.add_to(feat, false);

  return {feat, [fa] { return run_features_bench(*fa); }};
}

}  // namespace tessera::app
