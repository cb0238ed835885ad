#include "tessera/data/synth_sources.h"

namespace tessera::data::synth {

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

}  // namespace tessera::data::synth
