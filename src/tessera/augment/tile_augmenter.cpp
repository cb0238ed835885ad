#include "tessera/augment/tile_augmenter.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "tessera/common/rng.h"

namespace tessera::augment {
namespace {

// A SplitMix64 stream: its own bits, so the draws are the same with every
// standard library (std's distributions are not specified bit for bit).
class Stream {
 public:
  explicit Stream(std::uint64_t seed) : state_(seed) {}
  std::uint64_t bits() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return common::mix64(state_);
  }
  double uniform() { return double(bits() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int below(int n) { return n <= 0 ? 0 : int(bits() % std::uint64_t(n)); }  // [0, n)

 private:
  std::uint64_t state_;
};

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument("augment: " + message);
}

void check_probability(double p, const char* key) {
  require(p >= 0 && p <= 1, std::string(key) + " (" + std::to_string(p) + ") must lie in [0, 1]");
}

void check_fraction(double f, const char* key) {
  require(f >= 0 && f <= 1, std::string(key) + " (" + std::to_string(f) + ") must lie in [0, 1]");
}

double rms_linear(const float* x, std::size_t n, double floor) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double m = std::max(0.0, std::exp(double(x[i])) - floor);
    s += m * m;
  }
  return std::sqrt(s / double(std::max<std::size_t>(n, 1)));
}

// Sets frames [begin, begin + width) (or bins, when `along_bins`) of every
// channel to that channel's mean.
void mask(float* view, const TileShape& shape, int begin, int width, bool along_bins) {
  if (width <= 0) return;
  const std::size_t plane = std::size_t(shape.frames) * shape.bins;
  for (int c = 0; c < shape.channels; ++c) {
    float* p = view + c * plane;
    double sum = 0;
    for (std::size_t i = 0; i < plane; ++i) sum += p[i];
    const float mean = float(sum / double(std::max<std::size_t>(plane, 1)));
    for (int t = 0; t < shape.frames; ++t) {
      for (int b = 0; b < shape.bins; ++b) {
        const int at = along_bins ? b : t;
        if (at >= begin && at < begin + width) p[std::size_t(t) * shape.bins + b] = mean;
      }
    }
  }
}

}  // namespace

bool AugmentOptions::enabled() const {
  return mixback_probability > 0 || gain_probability > 0 || time_mask_probability > 0 ||
         freq_mask_probability > 0;
}

bool AugmentOptions::needs_log_mel() const {
  return mixback_probability > 0 || gain_probability > 0;
}

void AugmentOptions::validate() const {
  check_probability(mixback_probability, "mixback_probability");
  check_probability(gain_probability, "gain_probability");
  check_probability(time_mask_probability, "time_mask_probability");
  check_probability(freq_mask_probability, "freq_mask_probability");
  require(std::isfinite(mixback_db_min) && std::isfinite(mixback_db_max) &&
              mixback_db_min <= mixback_db_max,
          "mixback_db_min (" + std::to_string(mixback_db_min) +
              ") must not exceed mixback_db_max (" + std::to_string(mixback_db_max) + ")");
  require(mixback_db_max <= 0, "mixback_db_max (" + std::to_string(mixback_db_max) +
                                   ") must be <= 0: the background stays quieter than the view");
  require(gain_db >= 0 && gain_db <= 40,
          "gain_db (" + std::to_string(gain_db) + ") must lie in [0, 40]");
  check_fraction(time_mask_fraction, "time_mask_fraction");
  check_fraction(freq_mask_fraction, "freq_mask_fraction");
  require(log_floor > 0, "log_floor must be > 0");
}

TileAugmenter::TileAugmenter(const AugmentOptions& options) : options_(options) {
  options_.validate();
}

std::vector<ViewAugmentation> TileAugmenter::apply(
    float* views, std::size_t count, const TileShape& shape,
    const std::vector<std::uint32_t>& recordings, const std::vector<std::uint64_t>& streams) const {
  if (recordings.size() != count || streams.size() != count) {
    throw std::invalid_argument("augment: one recording and one stream per view are needed");
  }
  const std::size_t n = shape.floats();
  const AugmentOptions& o = options_;
  std::vector<ViewAugmentation> done(count);
  if (!o.enabled() || count == 0) return done;
  // The views as assembled: backgrounds come from here, never from a view
  // that was already changed.
  std::vector<float> original;
  if (o.mixback_probability > 0) original.assign(views, views + count * n);
  for (std::size_t v = 0; v < count; ++v) {
    Stream rng(streams[v]);
    ViewAugmentation& rec = done[v];
    float* x = views + v * n;
    // A fixed number of draws per step, whatever applies, so that changing
    // one probability leaves the other choices as they were.
    const bool mix = rng.uniform() < o.mixback_probability;
    const int start = rng.below(int(count));
    const double mix_db = rng.uniform(o.mixback_db_min, o.mixback_db_max);
    const bool gain = rng.uniform() < o.gain_probability;
    const double gain_db = rng.uniform(-o.gain_db, o.gain_db);
    const bool tmask = rng.uniform() < o.time_mask_probability;
    const int twidth = rng.below(int(std::floor(o.time_mask_fraction * shape.frames)) + 1);
    const int tbegin = rng.below(shape.frames - twidth + 1);
    const bool fmask = rng.uniform() < o.freq_mask_probability;
    const int fwidth = rng.below(int(std::floor(o.freq_mask_fraction * shape.bins)) + 1);
    const int fbegin = rng.below(shape.bins - fwidth + 1);

    int background = -1;
    if (mix) {
      for (std::size_t k = 0; k < count; ++k) {
        const std::size_t w = (std::size_t(start) + k) % count;
        if (recordings[w] != recordings[v]) {
          background = int(w);
          break;
        }
      }
    }
    double level = 0;  // the background's factor on its mel magnitudes
    const float* y = nullptr;
    if (background >= 0) {
      y = original.data() + std::size_t(background) * n;
      const double rx = rms_linear(x, n, o.log_floor), ry = rms_linear(y, n, o.log_floor);
      if (rx > 0 && ry > 0) {
        level = std::pow(10.0, mix_db / 20.0) * rx / ry;
        rec.background = background;
        rec.mixback_db = mix_db;
      }
    }
    const double g = gain ? std::pow(10.0, gain_db / 20.0) : 1.0;
    if (gain) rec.gain_db = gain_db;
    if (level > 0 || gain) {
      for (std::size_t i = 0; i < n; ++i) {
        double m = std::max(0.0, std::exp(double(x[i])) - o.log_floor);
        if (level > 0) m += level * std::max(0.0, std::exp(double(y[i])) - o.log_floor);
        x[i] = float(std::log(g * m + o.log_floor));
      }
    }
    if (tmask && twidth > 0) {
      mask(x, shape, tbegin, twidth, /*along_bins=*/false);
      rec.time_mask_begin = tbegin;
      rec.time_mask_width = twidth;
    }
    if (fmask && fwidth > 0) {
      mask(x, shape, fbegin, fwidth, /*along_bins=*/true);
      rec.freq_mask_begin = fbegin;
      rec.freq_mask_width = fwidth;
    }
  }
  return done;
}

}  // namespace tessera::augment
