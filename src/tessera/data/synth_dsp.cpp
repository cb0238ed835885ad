#include "tessera/data/synth_dsp.h"

namespace tessera::data::synth {

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

double rms(const float* x, std::size_t n) {
  double e = 0;
  for (std::size_t i = 0; i < n; ++i) e += double(x[i]) * x[i];
  return std::sqrt(e / std::max<std::size_t>(1, n));
}

void normalise_to(Signal& s, double target_rms) {
  const double r = rms(s.data(), s.size());
  if (r <= 0) return;
  const double g = target_rms / r;
  for (auto& v : s) v = float(std::clamp(v * g, -0.99, 0.99));
}

}  // namespace tessera::data::synth
