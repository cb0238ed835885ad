// A synthetic dataset in the DCASE or the music layout: the built-in data of
// the demo and the tests. Each class has its own generative sound model
// (harmonic sources with class-typical pitch and envelope, filtered noise
// textures, impulsive events at class-typical rates, formant "speech",
// near-silence), with random variation per recording in gain, background,
// source parameters and timing, so the classes differ by how they sound
// rather than by level or length. Deterministic for a seed.
//
//   SynthOptions o; o.layout = SynthLayout::kDcase; o.output_dir = "data";
//   SynthReport r = write_synth_dataset(o);
#pragma once

#include <string>
#include <vector>

#include "tessera/audio/audio_buffer.h"

namespace tessera::data {

enum class SynthLayout { kDcase, kMusic };

struct SynthOptions {
  std::string output_dir;
  SynthLayout layout = SynthLayout::kDcase;
  int classes = 9;
  int clips_per_class = 12;
  int seed = 1;
  int clips_per_session = 3;   // DCASE: contiguous clips share a session
  double eval_fraction = 0.3;  // DCASE: sessions held out for evaluate
  int threads = 1;
  // DCASE: the fraction of time a class-independent interfering sound (a
  // coloured-noise band, a hum, a tap train, drawn afresh for each stretch
  // of 1-4 s) plays over the activity, at -9 to 0 dB of it. Real domestic
  // recordings have such background (a fridge, traffic, another room); it
  // changes within a recording, so the triplet objective must learn to
  // ignore it while generic features do not. 0 (the default) adds nothing
  // and leaves every other sample as it was.
  double interference = 0.0;
  void validate() const;
};

struct SynthReport {
  int clips = 0;
  std::vector<std::string> labels;
  double seconds = 0;  // wall time
};

// The label names of a layout with n classes.
std::vector<std::string> synth_labels(SynthLayout layout, int classes);

// One session of `clips` contiguous clips of class `label`, as one buffer.
// DCASE: 16 kHz, 4 channels, 10 s per clip. Music: 22.05 kHz mono, 8-20 s
// with silence at both ends, and `clips` must be 1.
audio::AudioBuffer synth_session(SynthLayout layout, int label, int clips, std::uint64_t seed,
                                 double interference = 0.0);

SynthReport write_synth_dataset(const SynthOptions& options);

}  // namespace tessera::data
