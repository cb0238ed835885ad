// The synthetic dataset's signal pieces: a seeded random source, two
// filters, a fast sine, and the sound primitives the class models are built
// from (filtered-noise textures, room noise, impulse trains, harmonic
// sources, formant "speech"), plus level helpers. Every function adds into
// a mono float signal at `rate` Hz and draws its randomness from the Rng it
// is given, so a seed fixes every sample.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "tessera/common/rng.h"

namespace tessera::data::synth {

constexpr double kTwoPi = 2.0 * M_PI;

using Signal = std::vector<float>;

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : g_(seed), state_(common::mix64(seed)) {}
  double uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(g_);
  }
  // Approximately standard normal noise: the sum of four 16-bit uniforms
  // (Irwin-Hall), rescaled. Noise textures need the spectrum, not the tails,
  // and this is ~20x cheaper than std::normal_distribution.
  double normal() {
    state_ = common::mix64(state_);
    const double sum = double(state_ & 0xffff) + double((state_ >> 16) & 0xffff) +
                       double((state_ >> 32) & 0xffff) + double(state_ >> 48);
    return (sum - 2 * 65535.0) * (1.0 / (65536.0 * 0.57735026919));
  }
  // Uniform noise in [-sqrt(3), sqrt(3)) (unit variance), one mix per sample.
  double uniform_noise() {
    state_ = common::mix64(state_);
    return (double(state_ >> 11) * (1.0 / 9007199254740992.0) * 2 - 1) * 1.7320508075688772;
  }
  int integer(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g_); }
  double exponential(double rate) { return std::exponential_distribution<double>(rate)(g_); }

 private:
  std::mt19937_64 g_;
  std::uint64_t state_;
};

// RBJ cookbook band-pass (constant peak gain), direct form I.
class BandPass {
 public:
  BandPass(double centre_hz, double q, double rate) { set(centre_hz, q, rate); }
  void set(double centre_hz, double q, double rate) {
    const double w = kTwoPi * std::min(centre_hz, 0.45 * rate) / rate;
    const double alpha = std::sin(w) / (2 * q);
    const double a0 = 1 + alpha;
    b0_ = alpha / a0;
    b2_ = -alpha / a0;
    a1_ = -2 * std::cos(w) / a0;
    a2_ = (1 - alpha) / a0;
  }
  double operator()(double x) {
    const double y = b0_ * x + b2_ * x2_ - a1_ * y1_ - a2_ * y2_;
    x2_ = x1_;
    x1_ = x;
    y2_ = y1_;
    y1_ = y;
    return y;
  }

 private:
  double b0_, b2_, a1_, a2_;
  double x1_ = 0, x2_ = 0, y1_ = 0, y2_ = 0;
};

class OnePoleLowPass {
 public:
  OnePoleLowPass(double cutoff_hz, double rate) : a_(std::exp(-kTwoPi * cutoff_hz / rate)) {}
  double operator()(double x) { return y_ = (1 - a_) * x + a_ * y_; }

 private:
  double a_;
  double y_ = 0;
};

// sin by table lookup with linear interpolation (4096 entries per turn,
// error < 3e-7): synthesis calls sin per sample and per partial, and libm's
// sin was a third of the generator's time.
class SineTable {
 public:
  SineTable() {
    for (int i = 0; i <= kSize; ++i) t_[i] = std::sin(kTwoPi * i / kSize);
  }
  double operator()(double x) const {
    double turns = x * (1.0 / kTwoPi);
    turns -= std::floor(turns);
    const double pos = turns * kSize;
    const int i = int(pos);
    const double frac = pos - i;
    return t_[i] + frac * (t_[i + 1] - t_[i]);
  }

 private:
  static constexpr int kSize = 4096;
  double t_[kSize + 1];
};
inline const SineTable kSineTable;
inline double fsin(double x) {
  return kSineTable(x);
}
inline double fcos(double x) {
  return kSineTable(x + M_PI / 2);
}

// A band of noise at `centre` Hz (quality q), amplitude-modulated at mod_hz
// by mod_depth.
void add_noise_texture(Signal& s, Rng& rng, double rate, double centre, double q, double level,
                       double mod_hz, double mod_depth);
// Low-passed noise under everything: the room.
void add_room_noise(Signal& s, Rng& rng, double rate, double level);
// Decaying sinusoid bursts at Poisson times: clinks, clicks, taps, thumps.
void add_impulses(Signal& s, Rng& rng, double rate, double per_second, double f_lo, double f_hi,
                  double decay_s, double level);
// A harmonic source with vibrato over samples [from, to); `tilt` sets how
// fast harmonics fall off.
void add_harmonic(Signal& s, double rate, std::size_t from, std::size_t to, double f0,
                  int harmonics, double tilt, double level, double vibrato_hz, double attack_s,
                  double release_s);
// Formant "speech": a glottal pulse train with intonation through three
// resonators whose centres glide between vowel targets, syllable-modulated.
void add_speech(Signal& s, Rng& rng, double rate, double pitch_hz, double level,
                double talk_fraction);

double rms(const float* x, std::size_t n);
// Scales to the given RMS and clips to +-0.99 (a silent signal stays silent).
void normalise_to(Signal& s, double target_rms);

}  // namespace tessera::data::synth
