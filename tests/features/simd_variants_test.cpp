// Every SIMD variant of the front end's vector loops (common/simd_dispatch.h)
// that this machine can run, forced in turn on the same inputs: the code
// says they compute the same bits (the same operations in the same order,
// no contraction), and this checks it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "simd_variants.h"
#include "tessera/common/simd_dispatch.h"
#include "tessera/features/fast_log.h"
#include "tessera/features/feature_extractor.h"
#include "tessera/features/real_fft.h"

namespace tessera::features {
namespace {

using common::SimdLevel;

// Runs f(level) for each runnable level and returns its results in that order.
template <typename F>
auto under_each_level(F f) {
  std::vector<decltype(f(SimdLevel::kBaseline))> out;
  for (SimdLevel l : common::runnable_simd_levels()) out.push_back(f(l));
  return out;
}

// The results of every level equal the baseline's, bit for bit.
void expect_same_bits(const std::vector<std::vector<float>>& r, const char* what) {
  const auto levels = common::runnable_simd_levels();
  ASSERT_EQ(r.size(), levels.size());
  for (std::size_t i = 1; i < r.size(); ++i) {
    ASSERT_EQ(r[i].size(), r[0].size()) << what;
    std::size_t differ = 0;
    for (std::size_t k = 0; k < r[0].size(); ++k)
      differ += std::memcmp(&r[i][k], &r[0][k], sizeof(float)) != 0;
    EXPECT_EQ(differ, 0u) << what << ": " << common::simd_level_name(levels[i])
                          << " differs from the baseline in " << differ << " of " << r[0].size();
  }
}

TEST(FeatureSimdVariantsTest, LogGivesTheSameBitsAtEveryLevel) {
  TESSERA_SKIP_WITHOUT_SIMD_VARIANTS();
  // Positive normal floats over many octaves, and values near 1.
  std::mt19937 rng(5);
  std::vector<float> in(4096);
  for (std::size_t i = 0; i < in.size(); ++i)
    in[i] = i % 4 == 0 ? 1.0f + std::uniform_real_distribution<float>(-1e-3f, 1e-3f)(rng)
                       : std::exp2(std::uniform_real_distribution<float>(-100.0f, 100.0f)(rng));
  const auto r = under_each_level([&](SimdLevel level) {
    std::vector<float> v = in;
    log_inplace_x8(v.data(), int(v.size()), level);
    return v;
  });
  expect_same_bits(r, "log_inplace_x8");
}

TEST(FeatureSimdVariantsTest, LaneFftGivesTheSameBitsAtEveryLevel) {
  TESSERA_SKIP_WITHOUT_SIMD_VARIANTS();
  std::mt19937 rng(6);
  std::normal_distribution<float> n01;
  const RealFft fft(1024);
  std::vector<float> in(std::size_t(fft.size()) * RealFft::kLanes);
  for (float& v : in) v = n01(rng);
  const auto r = under_each_level([&](SimdLevel level) {
    RealFft::LaneScratch s = fft.make_lane_scratch();
    std::vector<float> out(std::size_t(fft.bins()) * RealFft::kLanes);
    fft.magnitude_lanes(in.data(), out.data(), s, level);
    return out;
  });
  expect_same_bits(r, "RealFft::magnitude_lanes");
}

// The whole extractor, log-mel and MFCC, on a clip with silence, a tone and
// noise: what the feature cache stores must not depend on the CPU.
TEST(FeatureSimdVariantsTest, FeaturesGiveTheSameBitsAtEveryLevel) {
  TESSERA_SKIP_WITHOUT_SIMD_VARIANTS();
  std::mt19937 rng(7);
  std::normal_distribution<float> n01;
  std::vector<float> clip(16000);
  for (std::size_t i = 4000; i < clip.size(); ++i)
    clip[i] = 0.3f * std::sin(0.05f * float(i)) + 0.05f * n01(rng);
  for (FeatureKind kind : {FeatureKind::kLogMel, FeatureKind::kMfcc}) {
    const auto r = under_each_level([&](SimdLevel level) {
      FeatureOptions o;
      o.kind = kind;
      o.simd = level;
      return FeatureExtractor(o).compute(clip.data(), clip.size()).data;
    });
    expect_same_bits(r, to_string(kind).c_str());
  }
}

}  // namespace
}  // namespace tessera::features
