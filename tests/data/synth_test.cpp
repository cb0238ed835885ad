#include "tessera/data/synth.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tessera/audio/decode.h"
#include "tessera/common/atomic_file.h"
#include "tessera/data/dcase_reader.h"
#include "tessera/features/feature_extractor.h"
#include "test_util.h"

namespace tessera::data {
namespace {

using tessera::testing::fresh_dir;

TEST(SynthTest, DcaseLayoutHasFoldListsAndFourChannelClips) {
  SynthOptions o;
  o.output_dir = fresh_dir();
  o.clips_per_class = 3;
  o.classes = 9;
  const SynthReport r = write_synth_dataset(o);
  EXPECT_EQ(r.clips, 27);
  DcaseOptions d;
  d.root = o.output_dir;
  const Dataset ds = read_dcase(d);
  EXPECT_EQ(ds.train.recordings.size() + ds.eval.recordings.size(), 27u);
  EXPECT_GT(ds.eval.recordings.size(), 0u);
  const auto a = audio::decode_file(ds.train.recordings[0].path);
  EXPECT_EQ(a.channels, 4);
  EXPECT_EQ(a.sample_rate_hz, 16000);
  EXPECT_EQ(a.frames(), 160000u);
}

TEST(SynthTest, SameSeedSameBytes) {
  SynthOptions o;
  o.clips_per_class = 2;
  o.classes = 3;
  o.output_dir = fresh_dir("a");
  write_synth_dataset(o);
  const std::string a = o.output_dir;
  o.output_dir = fresh_dir("b");
  o.threads = 3;  // thread count must not matter
  write_synth_dataset(o);
  const std::string name = "/audio/synth_s001_00.wav";
  EXPECT_EQ(common::read_file(a + name), common::read_file(o.output_dir + name));
  o.output_dir = fresh_dir("c");
  o.seed = 2;
  write_synth_dataset(o);
  EXPECT_NE(common::read_file(a + name), common::read_file(o.output_dir + name));
}

// The microphones hear the same scene, slightly differently: at the best
// lag (each has its own delay of up to 12 samples) two channels correlate
// strongly, but they are not copies.
TEST(SynthTest, ChannelsDifferSlightly) {
  const auto a = synth_session(SynthLayout::kDcase, 6, 1, 11);
  const float* x = a.channel(0);
  const float* y = a.channel(1);
  const long n = long(a.frames());
  double best = -1;
  for (int lag = -12; lag <= 12; ++lag) {
    double xy = 0, xx = 0, yy = 0;
    for (long i = 12; i < n - 12; ++i) {
      xy += double(x[i]) * y[i + lag];
      xx += double(x[i]) * x[i];
      yy += double(y[i + lag]) * y[i + lag];
    }
    best = std::max(best, xy / std::sqrt(xx * yy));
  }
  EXPECT_GT(best, 0.9);
  EXPECT_LT(best, 0.99999);
}

// Classes are told apart by sound: a nearest-centroid rule on each clip's
// mean log-mel spectrum *with its own mean level removed* classifies
// held-out recordings far above chance (1/9).
TEST(SynthTest, ClassesDifferBySpectralShapeNotLevel) {
  features::FeatureExtractor fx{features::FeatureOptions{}};
  auto profile = [&](int label, std::uint64_t seed) {
    const auto a = synth_session(SynthLayout::kDcase, label, 1, seed);
    const auto m = fx.compute(a.channel(0), a.frames());
    std::vector<double> p(m.bins, 0.0);
    for (long f = 0; f < m.frames; ++f)
      for (int b = 0; b < m.bins; ++b) p[b] += m.frame(0, f)[b] / m.frames;
    double mean = 0;
    for (double v : p) mean += v / p.size();
    for (double& v : p) v -= mean;
    return p;
  };
  std::vector<std::vector<double>> centroid(9);
  for (int c = 0; c < 9; ++c) {
    centroid[c] = profile(c, 100 + c);
    const auto second = profile(c, 200 + c);
    for (std::size_t b = 0; b < second.size(); ++b)
      centroid[c][b] = 0.5 * (centroid[c][b] + second[b]);
  }
  int correct = 0;
  for (int c = 0; c < 9; ++c) {
    for (int k = 0; k < 2; ++k) {
      const auto p = profile(c, 1000 + 10 * c + k);
      int best = -1;
      double best_d = 1e30;
      for (int j = 0; j < 9; ++j) {
        double d = 0;
        for (std::size_t b = 0; b < p.size(); ++b)
          d += (p[b] - centroid[j][b]) * (p[b] - centroid[j][b]);
        if (d < best_d) best_d = d, best = j;
      }
      correct += best == c;
    }
  }
  EXPECT_GE(correct, 14) << "of 18 held-out clips";
}

double rms_db(const float* x, std::size_t n) {
  double e = 0;
  for (std::size_t i = 0; i < n; ++i) e += double(x[i]) * x[i];
  return 10 * std::log10(e / n);
}

// Interference changes within a recording: the level of the 2 s tiles of a
// steady source (the vacuum cleaner) varies far more with it than without.
// Its stretches play at -9 to 0 dB of the source, so a tile gains 0 to +3 dB.
TEST(SynthTest, InterferenceVariesWithinARecording) {
  auto tile_levels = [](double interference) {
    const auto a = synth_session(SynthLayout::kDcase, 6, 3, 21, interference);
    std::vector<double> db;
    for (std::size_t t = 0; t + 32000 <= a.frames(); t += 32000)
      db.push_back(rms_db(a.channel(0) + t, 32000));
    return db;
  };
  auto spread = [](const std::vector<double>& v) {
    double mean = 0, var = 0;
    for (double x : v) mean += x / v.size();
    for (double x : v) var += (x - mean) * (x - mean) / v.size();
    return std::sqrt(var);
  };
  const auto quiet = tile_levels(0.0), busy = tile_levels(1.0);
  ASSERT_EQ(quiet.size(), 15u);
  EXPECT_GT(spread(busy), 2 * spread(quiet)) << spread(busy) << " vs " << spread(quiet);
  for (std::size_t t = 0; t < quiet.size(); ++t) {
    EXPECT_GE(busy[t] - quiet[t], -0.5) << t;  // independent sounds add power
    EXPECT_LE(busy[t] - quiet[t], 3.5) << t;
  }
}

// The interference draws from a random stream of its own, so it changes
// only the stretches it is added to: the activity, the room noise, the
// microphones' delays, gains and own noise stay what they were. With half
// the stretches busy, about half of the samples stay bit-identical; had the
// interference drawn from the session's stream, the room noise would differ
// everywhere and almost none would.
TEST(SynthTest, InterferenceChangesOnlyTheStretchesItIsAddedTo) {
  const auto quiet = synth_session(SynthLayout::kDcase, 3, 1, 5);
  const auto busy = synth_session(SynthLayout::kDcase, 3, 1, 5, 0.5);
  ASSERT_EQ(quiet.samples.size(), busy.samples.size());
  std::size_t same = 0;
  for (std::size_t i = 0; i < quiet.samples.size(); ++i)
    same += quiet.samples[i] == busy.samples[i];
  const double fraction = double(same) / quiet.samples.size();
  EXPECT_GT(fraction, 0.2);
  EXPECT_LT(fraction, 0.8);
}

TEST(SynthTest, InterferenceOptionIsValidated) {
  SynthOptions o;
  o.output_dir = "x";
  o.interference = 1.5;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o.interference = 0.5;
  o.layout = SynthLayout::kMusic;
  EXPECT_THROW(o.validate(), std::invalid_argument);
}

TEST(SynthTest, MusicLayoutIsFolderPerGenreWithSilentEnds) {
  SynthOptions o;
  o.output_dir = fresh_dir();
  o.layout = SynthLayout::kMusic;
  o.classes = 3;
  o.clips_per_class = 2;
  write_synth_dataset(o);
  const auto a = audio::decode_file(o.output_dir + "/blues/track_000.wav");
  EXPECT_EQ(a.sample_rate_hz, 22050);
  EXPECT_EQ(a.channels, 1);
  EXPECT_GE(a.seconds(), 8.0);
  EXPECT_EQ(a.samples[0], 0.0f);
  EXPECT_EQ(a.samples.back(), 0.0f);
}

}  // namespace
}  // namespace tessera::data
