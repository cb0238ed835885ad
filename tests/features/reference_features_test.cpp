// Tessera's front end against references that no Tessera code computed:
// tests/data/reference/, written by scripts/make_reference_features.py, an
// independent numpy (float64) implementation of TF 2.1's tf.signal STFT,
// mel matrix, log and MFCC from TF's documented formulas, on WAVs it made
// itself (16, 22.05, 44.1 and 8 kHz; 1, 2 and 4 channels; a near-silent
// clip and a clipped one). Decoding and the mix to mono are Tessera's.
//
// The tolerance, per value, is derived rather than tuned:
// - mel: |d| <= 1e-4 |mel| + 1e-6 max(mel). Tessera works in float32: the
//   FFT's rounding grows with log2(1024) steps of 2^-24 relative to the
//   frame's largest bin (about 1e-6 of the clip's largest mel value), and
//   the mel weights and their sums add relative errors far below 1e-4.
// - log(mel + 1e-6): that bound divided by (mel + 1e-6), the derivative of
//   the log, plus 1e-6 |log| for the float32 logarithm (a few ulp).
// - MFCC: a DCT row has coefficients of magnitude at most 2 / sqrt(2 * 128),
//   so each coefficient's bound is that times the sum of its frame's log
//   bounds, plus 1e-6 |mfcc| for its own float32 sum.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "tessera/audio/channels.h"
#include "tessera/audio/decode.h"
#include "tessera/common/atomic_file.h"
#include "tessera/common/npy.h"
#include "tessera/features/feature_extractor.h"

namespace tessera::features {
namespace {

const std::string kDir = std::string(TESSERA_SOURCE_DIR) + "/tests/data/reference/";

struct Reference {
  std::string name;
  int sample_rate = 0;
  int channels = 0;
};

std::vector<Reference> references(nlohmann::json* index_out = nullptr) {
  const auto index = nlohmann::json::parse(common::read_file(kDir + "features.json"));
  if (index_out) *index_out = index;
  std::vector<Reference> out;
  for (const auto& [name, f] : index.at("files").items())
    out.push_back({name, f.at("sample_rate").get<int>(), f.at("channels").get<int>()});
  return out;
}

FeatureOptions options_for(const nlohmann::json& index, int rate, FeatureKind kind) {
  FeatureOptions o;
  o.kind = kind;
  o.sample_rate_hz = rate;
  o.frame_length_samples = index.at("frame_length").get<int>();
  o.frame_step_samples = index.at("frame_step").get<int>();
  o.fft_size = index.at("fft_size").get<int>();
  o.n_mel_bins = index.at("n_mel_bin").get<int>();
  o.n_mfcc = index.at("n_mfcc_bin").get<int>();
  o.lower_edge_hz = index.at("lower_edge_hz").get<double>();
  o.log_offset = index.at("log_offset").get<double>();
  return o;
}

// Mono samples as Tessera decodes and mixes them.
std::vector<float> mono_of(const Reference& r) {
  const audio::AudioBuffer a = audio::decode_file(kDir + r.name + ".wav");
  EXPECT_EQ(a.sample_rate_hz, r.sample_rate) << r.name;
  EXPECT_EQ(a.channels, r.channels) << r.name;
  return audio::mix_to_mono(a).samples;
}

TEST(ReferenceFeaturesTest, EveryReferenceIsThere) {
  const auto refs = references();
  ASSERT_EQ(refs.size(), 5u);
  std::set<int> rates, channels;
  for (const auto& r : refs) rates.insert(r.sample_rate), channels.insert(r.channels);
  EXPECT_EQ(rates.size(), 4u);
  EXPECT_EQ(channels.size(), 3u);
}

TEST(ReferenceFeaturesTest, LogMelMatchesTheNumpyReference) {
  nlohmann::json index;
  for (const auto& r : references(&index)) {
    const auto mono = mono_of(r);
    const FeatureExtractor fx(options_for(index, r.sample_rate, FeatureKind::kLogMel));
    const FeatureMatrix m = fx.compute(mono.data(), mono.size());
    const common::NpyArray ref = common::read_npy(kDir + r.name + ".mel.npy");
    ASSERT_EQ(ref.shape.size(), 2u);
    ASSERT_EQ(std::size_t(m.frames), ref.shape[0]) << r.name;
    ASSERT_EQ(std::size_t(m.bins), ref.shape[1]) << r.name;
    double max_mel = 0;
    for (float v : ref.data) max_mel = std::max(max_mel, double(v));
    ASSERT_GT(max_mel, 0) << r.name;
    int bad = 0;
    double worst = 0;  // the largest |d| / bound
    for (std::size_t i = 0; i < ref.data.size(); ++i) {
      const double mel = ref.data[i], want = std::log(mel + 1e-6);
      const double bound = (1e-4 * mel + 1e-6 * max_mel) / (mel + 1e-6) + 1e-6 * std::fabs(want);
      const double d = std::fabs(double(m.data[i]) - want);
      worst = std::max(worst, d / bound);
      if (d > bound && bad++ < 5) {
        ADD_FAILURE() << r.name << " frame " << i / m.bins << " bin " << i % m.bins << ": tessera "
                      << m.data[i] << ", reference " << want << " (mel " << mel << "), |d| " << d
                      << " > " << bound;
      }
    }
    EXPECT_EQ(bad, 0) << r.name;
    RecordProperty(r.name + "_worst_fraction_of_bound", std::to_string(worst));
  }
}

TEST(ReferenceFeaturesTest, MfccMatchesTheNumpyReference) {
  nlohmann::json index;
  for (const auto& r : references(&index)) {
    const auto mono = mono_of(r);
    const FeatureOptions o = options_for(index, r.sample_rate, FeatureKind::kMfcc);
    const FeatureMatrix m = FeatureExtractor(o).compute(mono.data(), mono.size());
    const common::NpyArray mel = common::read_npy(kDir + r.name + ".mel.npy");
    const common::NpyArray ref = common::read_npy(kDir + r.name + ".mfcc.npy");
    ASSERT_EQ(std::size_t(m.frames), ref.shape[0]) << r.name;
    ASSERT_EQ(std::size_t(m.bins), ref.shape[1]) << r.name;
    double max_mel = 0;
    for (float v : mel.data) max_mel = std::max(max_mel, double(v));
    const std::size_t n_mel = mel.shape[1];
    const double dct_max = 2.0 / std::sqrt(2.0 * double(n_mel));
    int bad = 0;
    for (long f = 0; f < m.frames; ++f) {
      double log_bounds = 0;
      for (std::size_t b = 0; b < n_mel; ++b) {
        const double v = mel.data[f * n_mel + b], lg = std::log(v + 1e-6);
        log_bounds += (1e-4 * v + 1e-6 * max_mel) / (v + 1e-6) + 1e-6 * std::fabs(lg);
      }
      for (int k = 0; k < m.bins; ++k) {
        const double want = ref.data[f * m.bins + k];
        const double bound = dct_max * log_bounds + 1e-6 * std::fabs(want) + 1e-6;
        const double got = m.data[f * m.bins + k];
        if (std::fabs(got - want) > bound && bad++ < 5) {
          ADD_FAILURE() << r.name << " frame " << f << " coefficient " << k << ": tessera " << got
                        << ", reference " << want << ", bound " << bound;
        }
      }
    }
    EXPECT_EQ(bad, 0) << r.name;
  }
}

}  // namespace
}  // namespace tessera::features
