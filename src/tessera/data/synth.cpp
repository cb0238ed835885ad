#include "tessera/data/synth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "tessera/audio/encode.h"
#include "tessera/common/atomic_file.h"
#include "tessera/common/rng.h"
#include "tessera/data/dcase_reader.h"

namespace tessera::data {
namespace fs = std::filesystem;
namespace {

constexpr double kTwoPi = 2.0 * M_PI;

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

using Signal = std::vector<float>;

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
const SineTable kSin;
double fsin(double x) {
  return kSin(x);
}
double fcos(double x) {
  return kSin(x + M_PI / 2);
}

void add_noise_texture(Signal& s, Rng& rng, double rate, double centre, double q, double level,
                       double mod_hz, double mod_depth) {
  BandPass bp(centre, q, rate);
  const double phase = rng.uniform(0, kTwoPi);
  for (std::size_t i = 0; i < s.size(); ++i) {
    const double env = 1.0 - mod_depth * 0.5 * (1 + fsin(kTwoPi * mod_hz * i / rate + phase));
    s[i] += float(level * env * bp(rng.normal()));
  }
}

void add_room_noise(Signal& s, Rng& rng, double rate, double level) {
  OnePoleLowPass lp(400, rate);
  for (auto& v : s) v += float(level * 8 * lp(rng.normal()));
}

// Decaying sinusoid bursts at Poisson times: clinks, clicks, taps, thumps.
void add_impulses(Signal& s, Rng& rng, double rate, double per_second, double f_lo, double f_hi,
                  double decay_s, double level) {
  double t = rng.exponential(per_second);
  const double total = s.size() / rate;
  while (t < total) {
    const double f = rng.uniform(f_lo, f_hi);
    const double amp = level * rng.uniform(0.5, 1.0);
    const std::size_t start = std::size_t(t * rate);
    const std::size_t len = std::min(s.size() - start, std::size_t(decay_s * 6 * rate));
    for (std::size_t i = 0; i < len; ++i) {
      const double u = i / rate;
      s[start + i] += float(amp * std::exp(-u / decay_s) * fsin(kTwoPi * f * u));
    }
    t += rng.exponential(per_second);
  }
}

// A harmonic source with vibrato; `tilt` sets how fast harmonics fall off.
// The fundamental is a rotating phasor whose step is refreshed every 16
// samples (vibrato is slow), and sin(h x) follows by the Chebyshev
// recurrence, so a sample costs a few multiplies per partial and no trig.
void add_harmonic(Signal& s, double rate, std::size_t from, std::size_t to, double f0,
                  int harmonics, double tilt, double level, double vibrato_hz, double attack_s,
                  double release_s) {
  const std::size_t len = to - from;
  std::vector<double> weight(harmonics + 1);
  for (int h = 1; h <= harmonics; ++h) weight[h] = 1.0 / std::pow(h, tilt);
  double c = 1, sn = 0, cd = 1, sd = 0;
  int active = harmonics;
  for (std::size_t i = 0; i < len && from + i < s.size(); ++i) {
    if (i % 16 == 0) {
      const double f = f0 * (1 + 0.01 * fsin(kTwoPi * vibrato_hz * (i / rate)));
      cd = fcos(kTwoPi * f / rate);
      sd = fsin(kTwoPi * f / rate);
      const double norm = 1.0 / std::sqrt(c * c + sn * sn);  // keep the phasor on the circle
      c *= norm;
      sn *= norm;
      active = std::min(harmonics, int(0.45 * rate / f));
    }
    const double nc = c * cd - sn * sd;
    sn = sn * cd + c * sd;
    c = nc;
    const double c2 = 2 * c;
    double prev = 0, cur = sn, v = 0;
    for (int h = 1; h <= active; ++h) {
      v += cur * weight[h];
      const double next = c2 * cur - prev;
      prev = cur;
      cur = next;
    }
    const double u = i / rate;
    const double env = std::min({1.0, u / attack_s, (len - i) / rate / release_s});
    s[from + i] += float(level * env * v);
  }
}

// Formant "speech": a glottal pulse train with intonation through three
// resonators whose centres glide between vowel targets, syllable-modulated.
void add_speech(Signal& s, Rng& rng, double rate, double pitch_hz, double level,
                double talk_fraction) {
  static const double kVowels[5][3] = {
      {730, 1090, 2440}, {270, 2290, 3010}, {300, 870, 2240}, {530, 1840, 2480}, {570, 840, 2410}};
  BandPass f1(500, 8, rate), f2(1500, 10, rate), f3(2500, 12, rate);
  double phase = 0;
  int from = rng.integer(0, 4), to = rng.integer(0, 4);
  double seg_left = 0, seg_len = 0.15;
  bool talking = true;
  double talk_left = rng.uniform(0.5, 2.0);
  const double syll_hz = rng.uniform(3.0, 5.0);
  for (std::size_t i = 0; i < s.size(); ++i) {
    const double u = i / rate;
    if ((seg_left -= 1 / rate) <= 0) {
      from = to;
      to = rng.integer(0, 4);
      seg_len = seg_left = rng.uniform(0.08, 0.25);
    }
    if ((talk_left -= 1 / rate) <= 0) {
      talking = !talking;
      talk_left = talking ? rng.uniform(0.5, 3.0) * talk_fraction * 2
                          : rng.uniform(0.3, 2.0) * (1 - talk_fraction) * 2;
    }
    if (i % 64 == 0) {  // formants glide slowly; redesigning filters is costly
      const double a = 1 - seg_left / seg_len;
      f1.set(kVowels[from][0] * (1 - a) + kVowels[to][0] * a, 8, rate);
      f2.set(kVowels[from][1] * (1 - a) + kVowels[to][1] * a, 10, rate);
      f3.set(kVowels[from][2] * (1 - a) + kVowels[to][2] * a, 12, rate);
    }
    const double f0 =
        pitch_hz * (1 + 0.15 * fsin(kTwoPi * 0.7 * u) + 0.05 * fsin(kTwoPi * 2.3 * u));
    phase += f0 / rate;
    double pulse = 0;
    if (phase >= 1) {
      phase -= 1;
      pulse = 1;
    }
    const double excite = pulse + 0.02 * rng.normal();
    const double env = talking ? 0.5 * (1 + fsin(kTwoPi * syll_hz * u)) : 0.0;
    s[i] += float(level * env * (f1(excite) + 0.7 * f2(excite) + 0.4 * f3(excite)));
  }
}

// The DCASE-like domestic activities.
void dcase_source(Signal& s, int label, Rng& rng, double rate) {
  const int kind = label % 9;
  const double variant = 1.0 + 0.35 * (label / 9);  // classes beyond 9 shift in pitch
  switch (kind) {
    case 0:  // absence: faint room noise, a rare creak
      add_impulses(s, rng, rate, 0.1, 200, 400, 0.05, 0.002);
      break;
    case 1:  // cooking: sizzle plus crackle and the odd pot clank
      add_noise_texture(s, rng, rate, rng.uniform(3500, 5000) * variant, 1.5, 0.05,
                        rng.uniform(0.2, 0.6), 0.6);
      add_impulses(s, rng, rate, rng.uniform(8, 15), 2500, 6000, 0.003, 0.05);
      add_impulses(s, rng, rate, 0.3, 400, 800, 0.2, 0.08);
      break;
    case 2:  // dishwashing: running water and ringing clinks
      add_noise_texture(s, rng, rate, rng.uniform(1200, 2200) * variant, 2.0, 0.06,
                        rng.uniform(3, 7), 0.8);
      add_impulses(s, rng, rate, rng.uniform(1.5, 3.0), 2000, 5000, rng.uniform(0.05, 0.15), 0.15);
      break;
    case 3:  // eating: cutlery taps, chewing, a few words
      add_impulses(s, rng, rate, rng.uniform(1.0, 2.0), 1500 * variant, 3000 * variant, 0.01, 0.1);
      add_noise_texture(s, rng, rate, 300, 1.0, 0.02, rng.uniform(1.2, 1.8), 1.0);
      add_speech(s, rng, rate, rng.uniform(110, 220), 0.05, 0.2);
      break;
    case 4:  // other: footsteps, a door, a beep
      add_impulses(s, rng, rate, rng.uniform(1.5, 2.2), 60, 120, 0.04, 0.3);
      add_impulses(s, rng, rate, 0.2, 80, 150, 0.15, 0.4);
      add_harmonic(s, rate, s.size() / 3, s.size() / 3 + std::size_t(0.3 * rate), 1000 * variant, 1,
                   1, 0.05, 0, 0.01, 0.01);
      break;
    case 5:  // social activity: two or three overlapping voices
      for (int v = rng.integer(2, 3); v > 0; --v)
        add_speech(s, rng, rate, rng.uniform(100, 250) * variant, 0.12, 0.6);
      break;
    case 6: {  // vacuum cleaner: motor harmonics over broadband noise
      const double f0 = rng.uniform(120, 250) * variant;
      add_harmonic(s, rate, 0, s.size(), f0, 20, 0.7, 0.05, rng.uniform(0.1, 0.5), 0.5, 0.5);
      add_noise_texture(s, rng, rate, rng.uniform(800, 1600), 0.7, 0.15, 0.1, 0.1);
      break;
    }
    case 7: {  // watching TV: one voice over music that changes chords
      add_speech(s, rng, rate, rng.uniform(90, 200) * variant, 0.08, 0.8);
      const double root = rng.uniform(180, 300);
      for (std::size_t at = 0; at < s.size(); at += std::size_t(2 * rate)) {
        const double r = root * std::pow(2.0, rng.integer(0, 7) / 12.0);
        for (double ratio : {1.0, 1.26, 1.5})
          add_harmonic(s, rate, at, at + std::size_t(2 * rate), r * ratio, 6, 1.5, 0.02, 5, 0.05,
                       0.2);
      }
      break;
    }
    default: {  // working: typing bursts and a computer fan
      double t = 0;
      while (t < s.size() / rate) {  // bursts of keystrokes
        const double burst = rng.uniform(0.5, 2.0);
        Signal keys(std::size_t(burst * rate), 0.0f);
        add_impulses(keys, rng, rate, rng.uniform(5, 9), 3000 * variant, 6000 * variant, 0.004,
                     0.12);
        const std::size_t at = std::size_t(t * rate);
        for (std::size_t i = 0; i < keys.size() && at + i < s.size(); ++i) s[at + i] += keys[i];
        t += burst + rng.uniform(0.3, 1.5);
      }
      add_harmonic(s, rate, 0, s.size(), rng.uniform(50, 100), 3, 1.0, 0.01, 0.1, 0.5, 0.5);
      break;
    }
  }
}

// A music "genre": tempo, register, timbre and drum pattern per class.
void music_source(Signal& s, int label, Rng& rng, double rate, std::size_t from, std::size_t to) {
  Rng style(common::derive_seed({0x6e6e7265ULL, std::uint64_t(label)}));  // fixed per genre
  const double bpm = style.uniform(60, 180) * rng.uniform(0.95, 1.05);
  const double root = style.uniform(80, 400) * std::pow(2.0, rng.integer(-2, 2) / 12.0);
  const double tilt = style.uniform(0.5, 2.5);
  const int harmonics = style.integer(2, 12);
  const int notes_per_beat = style.integer(1, 4);
  const double kick = style.uniform(0, 1), hat = style.uniform(0, 1),
               noise = style.uniform(0, 0.05);
  static const int kScale[7] = {0, 2, 4, 5, 7, 9, 11};
  const double beat = 60.0 / bpm;
  const double note = beat / notes_per_beat;
  for (double t = 0; from + std::size_t((t + note) * rate) < to; t += note) {
    const std::size_t a = from + std::size_t(t * rate), b = from + std::size_t((t + note) * rate);
    const double f =
        root * std::pow(2.0, (kScale[rng.integer(0, 6)] + 12 * rng.integer(0, 1)) / 12.0);
    add_harmonic(s, rate, a, b, f, harmonics, tilt, 0.08, 5, 0.01, note * 0.3);
  }
  Signal drums(to - from, 0.0f);
  for (double t = 0; t * rate < drums.size(); t += beat) {
    const std::size_t at = std::size_t(t * rate);
    for (std::size_t i = 0; i < std::size_t(0.15 * rate) && at + i < drums.size(); ++i) {
      const double u = i / rate;
      drums[at + i] += float(kick * 0.4 * std::exp(-u / 0.04) * fsin(kTwoPi * 60 * u));
    }
  }
  add_impulses(drums, rng, rate, hat * 8 + 0.1, 6000, 9000, 0.01, 0.05 * hat);
  add_noise_texture(drums, rng, rate, 2000, 0.5, noise, 0.1, 0.0);
  for (std::size_t i = 0; i < drums.size(); ++i) s[from + i] += drums[i];
}

double rms(const float* x, std::size_t n) {
  double e = 0;
  for (std::size_t i = 0; i < n; ++i) e += double(x[i]) * x[i];
  return std::sqrt(e / std::max<std::size_t>(1, n));
}

// Class-independent interference over a session: stretches of 1-4 s, each
// busy with probability `busy`, hold a sound of a random kind with random
// parameters, at -9 to 0 dB of the activity's level `fg_rms`, faded in and
// out over 20 ms so no click marks the boundary.
void add_interference(Signal& s, Rng& rng, double rate, double busy, double fg_rms) {
  const double fade = 0.02 * rate;
  for (std::size_t at = 0; at < s.size();) {
    const std::size_t len = std::min(s.size() - at, std::size_t(rng.uniform(1.0, 4.0) * rate));
    if (rng.uniform(0, 1) < busy) {
      Signal part(len, 0.0f);
      switch (rng.integer(0, 2)) {
        case 0:  // a broadband noise band: a fan, traffic, rain
          add_noise_texture(part, rng, rate, rng.uniform(200, 6000), rng.uniform(0.5, 3.0), 0.1,
                            rng.uniform(0.1, 4.0), rng.uniform(0.0, 0.8));
          break;
        case 1:  // a hum or whine: a fridge, a motor, a distant tone
          add_harmonic(part, rate, 0, len, rng.uniform(60, 900), rng.integer(1, 10),
                       rng.uniform(0.5, 2.0), 0.1, rng.uniform(0.1, 3.0), 0.05, 0.05);
          break;
        default:  // a tap train: dripping, ticking, knocking
          add_impulses(part, rng, rate, rng.uniform(1, 12), 300, 6000, rng.uniform(0.003, 0.05),
                       0.3);
          break;
      }
      const double r = rms(part.data(), part.size());
      if (r > 0) {
        const double g = fg_rms * std::pow(10.0, rng.uniform(-9, 0) / 20) / r;
        for (std::size_t i = 0; i < len; ++i) {
          const double edge = std::min({1.0, i / fade, (len - i) / fade});
          s[at + i] += float(g * edge * part[i]);
        }
      }
    }
    at += len;
  }
}

void normalise_to(Signal& s, double target_rms) {
  const double r = rms(s.data(), s.size());
  if (r <= 0) return;
  const double g = target_rms / r;
  for (auto& v : s) v = float(std::clamp(v * g, -0.99, 0.99));
}

std::string padded(int v, int width) {
  std::string s = std::to_string(v);
  return std::string(std::max(0, width - int(s.size())), '0') + s;
}

}  // namespace

void SynthOptions::validate() const {
  if (output_dir.empty()) throw std::invalid_argument("synth: output directory is empty");
  if (classes < 2) throw std::invalid_argument("synth: classes must be >= 2");
  if (clips_per_class < 2) throw std::invalid_argument("synth: clips_per_class must be >= 2");
  if (clips_per_session < 1) throw std::invalid_argument("synth: clips_per_session must be >= 1");
  if (!(eval_fraction > 0 && eval_fraction < 1))
    throw std::invalid_argument("synth: eval_fraction must lie in (0, 1)");
  if (threads < 1) throw std::invalid_argument("synth: threads must be >= 1");
  if (!(interference >= 0 && interference <= 1))
    throw std::invalid_argument("synth: interference must lie in [0, 1]");
  if (interference > 0 && layout != SynthLayout::kDcase)
    throw std::invalid_argument("synth: interference is for the DCASE layout only");
}

std::vector<std::string> synth_labels(SynthLayout layout, int classes) {
  static const std::vector<std::string> kGenres = {
      "blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"};
  std::vector<std::string> out;
  for (int c = 0; c < classes; ++c) {
    if (layout == SynthLayout::kDcase) {
      out.push_back(c < 9 ? dcase_labels()[c] : "activity_" + padded(c, 2));
    } else {
      out.push_back(c < 10 ? kGenres[c] : "genre_" + padded(c, 2));
    }
  }
  return out;
}

audio::AudioBuffer synth_session(SynthLayout layout, int label, int clips, std::uint64_t seed,
                                 double interference) {
  Rng rng(seed);
  audio::AudioBuffer out;
  if (layout == SynthLayout::kDcase) {
    const double rate = 16000;
    const std::size_t n = std::size_t(clips * 10 * rate);
    Signal s(n, 0.0f);
    dcase_source(s, label, rng, rate);
    // Loudness varies per recording; absence stays near silence.
    const double level_db = (label % 9 == 0) ? rng.uniform(-62, -52) : rng.uniform(-32, -16);
    normalise_to(s, std::pow(10.0, level_db / 20));
    if (interference > 0) {
      // Its own stream, so the activity and the room stay what they were.
      Rng busy(common::derive_seed({seed, 0x696e7466ULL}));
      add_interference(s, busy, rate, interference, std::pow(10.0, level_db / 20));
      for (auto& v : s) v = std::clamp(v, -0.99f, 0.99f);
    }
    Signal room(n, 0.0f);
    add_room_noise(room, rng, rate, std::pow(10.0, rng.uniform(-70, -58) / 20));
    // Four "microphones": a delay of up to 12 samples, +-1.5 dB, own noise.
    out.sample_rate_hz = int(rate);
    out.channels = 4;
    out.samples.assign(4 * n, 0.0f);
    int delay[4];
    double gain[4];
    for (int c = 0; c < 4; ++c) {
      delay[c] = rng.integer(0, 12);
      gain[c] = std::pow(10.0, rng.uniform(-1.5, 1.5) / 20);
    }
    std::uint64_t noise_state = common::mix64(seed ^ 0x6d1c5ULL);
    for (std::size_t i = 0; i < n; ++i) {
      // One 64-bit draw gives the four microphones' own noise (16 bits each).
      noise_state = common::mix64(noise_state);
      for (int c = 0; c < 4; ++c) {
        const float src = i >= std::size_t(delay[c]) ? s[i - delay[c]] : 0.0f;
        const double own =
            (double((noise_state >> (16 * c)) & 0xffff) - 32767.5) * (1e-4 / 18918.0);
        out.channel(c)[i] = float(std::clamp(gain[c] * src + room[i] + own, -0.99, 0.99));
      }
    }
    return out;
  }
  if (clips != 1) throw std::invalid_argument("synth: music sessions hold one clip");
  const double rate = 22050;
  const double body_s = rng.uniform(8, 20);
  const double lead_s = rng.uniform(0.2, 1.0), tail_s = rng.uniform(0.2, 1.0);
  const std::size_t lead = std::size_t(lead_s * rate), body = std::size_t(body_s * rate);
  Signal s(lead + body + std::size_t(tail_s * rate), 0.0f);
  music_source(s, label, rng, rate, lead, lead + body);
  normalise_to(s, std::pow(10.0, rng.uniform(-26, -14) / 20));
  out.sample_rate_hz = int(rate);
  out.channels = 1;
  out.samples = std::move(s);
  return out;
}

SynthReport write_synth_dataset(const SynthOptions& o) {
  o.validate();
  const auto t0 = std::chrono::steady_clock::now();
  SynthReport report;
  report.labels = synth_labels(o.layout, o.classes);
  struct Job {
    int label, session, clips;
    std::vector<std::string> names;
  };
  std::vector<Job> jobs;
  const bool dcase = o.layout == SynthLayout::kDcase;
  if (dcase) {
    common::make_dirs(o.output_dir + "/audio");
    common::make_dirs(o.output_dir + "/evaluation_setup");
    int session = 0;
    // At least two sessions per class, so that evaluate gets one.
    const int per_session = std::max(1, std::min(o.clips_per_session, o.clips_per_class / 2));
    for (int c = 0; c < o.classes; ++c) {
      for (int left = o.clips_per_class; left > 0; left -= per_session) {
        Job j{c, session, std::min(left, per_session), {}};
        for (int k = 0; k < j.clips; ++k) {
          j.names.push_back("audio/synth_s" + padded(session, 3) + "_" + padded(k, 2) + ".wav");
        }
        jobs.push_back(std::move(j));
        ++session;
      }
    }
  } else {
    for (int c = 0; c < o.classes; ++c) {
      common::make_dirs(o.output_dir + "/" + report.labels[c]);
      for (int k = 0; k < o.clips_per_class; ++k) {
        jobs.push_back({c,
                        c * o.clips_per_class + k,
                        1,
                        {report.labels[c] + "/track_" + padded(k, 3) + ".wav"}});
      }
    }
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    try {
      for (std::size_t i = next++; i < jobs.size(); i = next++) {
        const Job& j = jobs[i];
        const audio::AudioBuffer a = synth_session(
            o.layout, j.label, j.clips,
            common::derive_seed({std::uint64_t(o.seed), std::uint64_t(j.session)}), o.interference);
        const std::size_t per_clip = a.frames() / j.clips;
        for (int k = 0; k < j.clips; ++k) {
          audio::AudioBuffer clip;
          clip.sample_rate_hz = a.sample_rate_hz;
          clip.channels = a.channels;
          clip.samples.resize(per_clip * a.channels);
          for (int ch = 0; ch < a.channels; ++ch) {
            std::copy(a.channel(ch) + k * per_clip, a.channel(ch) + (k + 1) * per_clip,
                      clip.channel(ch));
          }
          audio::write_wav(o.output_dir + "/" + j.names[k], clip);
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = jobs.size();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < o.threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);

  if (dcase) {
    // Whole sessions go to evaluate, so eval recordings come from unseen sessions.
    std::string train, evaluate, test;
    for (int c = 0; c < o.classes; ++c) {
      std::vector<const Job*> mine;
      for (const auto& j : jobs) {
        if (j.label == c) mine.push_back(&j);
      }
      const int n_eval = std::max(1, int(std::lround(mine.size() * o.eval_fraction)));
      for (std::size_t s = 0; s < mine.size(); ++s) {
        const bool is_eval = mine.size() > 1 && int(s) >= int(mine.size()) - n_eval;
        for (const auto& name : mine[s]->names) {
          if (is_eval) {
            evaluate += name + "\t" + report.labels[c] + "\n";
            test += name + "\n";
          } else {
            train +=
                name + "\t" + report.labels[c] + "\tsession" + padded(mine[s]->session, 3) + "\n";
          }
        }
      }
    }
    const std::string setup = o.output_dir + "/evaluation_setup/";
    common::write_file_atomic(setup + "fold1_train.txt", train);
    common::write_file_atomic(setup + "fold1_evaluate.txt", evaluate);
    common::write_file_atomic(setup + "fold1_test.txt", test);
    common::write_file_atomic(o.output_dir + "/labels.txt", [&] {
      std::string s;
      for (const auto& l : report.labels) s += l + "\n";
      return s;
    }());
  }
  for (const auto& j : jobs) report.clips += j.clips;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace tessera::data
