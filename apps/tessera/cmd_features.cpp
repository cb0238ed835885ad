// tessera features: the feature matrix of one audio file, as float32 .npy.
#include <cmath>
#include <stdexcept>

#include "commands.h"
#include "config_args.h"
#include "tessera/audio/loader.h"
#include "tessera/common/npy.h"
#include "tessera/features/feature_extractor.h"
#include "tessera/study/config_options.h"

namespace tessera::app {
namespace {

struct FeaturesArgs {
  ConfigArgs config;
  std::string input, output, kind;
  double tile_start_s = -1, tile_seconds = -1;
};

int run_features(const FeaturesArgs& a) {
  study::Config cfg = load_config(a.config);
  features::FeatureOptions fo = study::feature_options(cfg);
  if (!a.kind.empty()) fo.kind = features::parse_feature_kind(a.kind);
  const audio::AudioOptions ao = study::audio_options(cfg);
  audio::AudioBuffer audio = audio::load_audio(a.input, ao);
  if (a.tile_start_s >= 0 || a.tile_seconds > 0) {
    const double start_s = std::max(0.0, a.tile_start_s);
    const double len_s = a.tile_seconds > 0 ? a.tile_seconds : cfg.sample_tile_size;
    const auto start = static_cast<std::size_t>(std::llround(start_s * ao.sample_rate_hz));
    const auto len = static_cast<std::size_t>(std::llround(len_s * ao.sample_rate_hz));
    if (start + len > audio.frames()) {
      throw std::invalid_argument("features: tile " + std::to_string(start_s) + " s + " +
                                  std::to_string(len_s) + " s exceeds '" + a.input + "' (" +
                                  std::to_string(audio.seconds()) + " s after loading)");
    }
    audio::AudioBuffer tile;
    tile.sample_rate_hz = audio.sample_rate_hz;
    tile.channels = audio.channels;
    tile.samples.resize(len * audio.channels);
    for (int c = 0; c < audio.channels; ++c) {
      std::copy(audio.channel(c) + start, audio.channel(c) + start + len, tile.channel(c));
    }
    audio = std::move(tile);
  }
  const features::FeatureExtractor fx(fo);
  const features::FeatureMatrix m = fx.compute(audio);
  if (m.frames == 0) {
    throw std::invalid_argument("features: '" + a.input + "' is shorter than one frame (" +
                                std::to_string(fo.frame_length_samples) + " samples)");
  }
  std::vector<std::size_t> shape;
  if (m.channels > 1 || !cfg.to_mono) shape.push_back(m.channels);
  shape.push_back(m.frames);
  shape.push_back(m.bins);
  common::write_npy(a.output, shape, m.data.data());
  std::printf("%s\n", a.output.c_str());
  return 0;
}

}  // namespace

Command add_features_command(CLI::App& app) {
  auto args = std::make_shared<FeaturesArgs>();
  CLI::App* cmd = app.add_subcommand("features", "extract log-mel or MFCC features to .npy");
  cmd->add_option("--input,-i", args->input, "audio file (wav, flac, ogg)")->required();
  cmd->add_option("--output,-o", args->output,
                  "output .npy (float32 [frames, bins], or "
                  "[channels, frames, bins] when to_mono is 0)")
      ->required();
  cmd->add_option("--kind", args->kind, "logmel or mfcc (default: the config's feature_extractor)")
      ->check(CLI::IsMember({"logmel", "mfcc"}));
  cmd->add_option("--tile-start", args->tile_start_s, "start of a tile, in seconds");
  cmd->add_option("--tile-seconds", args->tile_seconds,
                  "tile length in seconds "
                  "(default: sample_tile_size)");
  args->config.add_to(cmd, false);
  return {cmd, [args] { return run_features(*args); }};
}

}  // namespace tessera::app
