// The mel filterbank on its own: TF's linear_to_mel_weight_matrix worked by
// hand on a tiny case, the properties of its triangles, and its sparse
// products against the dense matrix. The full-size filterbank is also checked
// through the features against TF's own output (reference_features_test).
#include "tessera/features/mel_filterbank.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

namespace tessera::features {
namespace {

// HTK's mel scale: 1127 ln(1 + f / 700), so 700 Hz is 1127 ln 2.
TEST(MelFilterbankTest, MelScaleIsHtksAndInvertsItself) {
  EXPECT_NEAR(hertz_to_mel(700.0), 1127.0 * std::log(2.0), 1e-9);
  EXPECT_EQ(hertz_to_mel(0.0), 0.0);
  for (double hz : {0.0, 55.0, 1000.0, 7999.0})
    EXPECT_NEAR(mel_to_hertz(hertz_to_mel(hz)), hz, 1e-9);
}

// One band over 0-4000 Hz at 8 kHz with 5 spectrum bins (0, 1, 2, 3, 4 kHz),
// worked by hand from TF's definition: edges linspace(mel(0), mel(4000), 3)
// = 0, 1073.0378, 2146.0756 mel; each bin weighs
// max(0, min((m - lower) / (centre - lower), (upper - m) / (upper - centre))).
//   1 kHz: m = 999.9907   -> rising side, 999.9907 / 1073.0378  = 0.931925
//   2 kHz: m = 1521.3674  -> falling side, 624.7082 / 1073.0378 = 0.582187
//   3 kHz: m = 1876.4637  -> falling side, 269.6119 / 1073.0378 = 0.251260
//   4 kHz: the upper edge -> 0;  DC: always 0.
TEST(MelFilterbankTest, OneBandMatchesTfsFormulaWorkedByHand) {
  const MelFilterbank fb(1, 5, 8000, 0.0, 4000.0);
  ASSERT_EQ(fb.n_mel_bins(), 1);
  ASSERT_EQ(fb.spectrum_bins(), 5);
  const std::vector<float> w = fb.dense();
  const std::vector<float> expected = {0.0f, 0.931925f, 0.582187f, 0.251260f, 0.0f};
  ASSERT_EQ(w.size(), expected.size());
  for (std::size_t k = 0; k < w.size(); ++k) EXPECT_NEAR(w[k], expected[k], 1e-6) << "bin " << k;
}

// Neighbouring triangles share their edges, so between the first and the last
// band centre every bin's weights add up to one; below the first centre and
// above the last, only one band covers a bin, and DC is never weighted.
TEST(MelFilterbankTest, NeighbouringBandsAddUpToOneBetweenTheCentres) {
  const int bands = 40, bins = 513, rate = 16000;
  const double lo = 125.0, hi = 7500.0;
  const MelFilterbank fb(bands, bins, rate, lo, hi);
  const std::vector<float> w = fb.dense();
  const double mlo = hertz_to_mel(lo), mhi = hertz_to_mel(hi);
  const double first_centre = mlo + (mhi - mlo) / (bands + 1);
  const double last_centre = mlo + (mhi - mlo) * bands / (bands + 1);
  for (int b = 0; b < bands; ++b) EXPECT_EQ(w[std::size_t(b)], 0.0f) << "DC in band " << b;
  int checked = 0;
  for (int k = 1; k < bins; ++k) {
    const double m = hertz_to_mel(rate / 2.0 * k / (bins - 1));
    double sum = 0;
    int covering = 0;
    for (int b = 0; b < bands; ++b) {
      const float x = w[std::size_t(k) * bands + b];
      EXPECT_GE(x, 0.0f);
      EXPECT_LE(x, 1.0f);
      sum += x;
      covering += x > 0;
    }
    if (m > first_centre && m < last_centre) {
      EXPECT_NEAR(sum, 1.0, 1e-5) << "bin " << k;
      ++checked;
    }
    EXPECT_LE(covering, 2) << "bin " << k;
    if (m <= mlo || m >= mhi) {
      EXPECT_EQ(covering, 0) << "bin " << k << " outside the edges";
    }
  }
  EXPECT_GT(checked, 400);
}

// The sparse products are the dense matrix's: apply() per spectrum, and
// apply_lanes() on interleaved spectra, lane by lane.
TEST(MelFilterbankTest, SparseProductsEqualTheDenseMatrix) {
  const int bands = 64, bins = 257;
  const MelFilterbank fb(bands, bins, 16000, 0.0, 8000.0);
  const std::vector<float> dense = fb.dense();
  constexpr int kLanes = 4;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 2.0f);
  std::vector<float> spectra(std::size_t(bins) * kLanes);
  for (float& x : spectra) x = u(rng);
  std::vector<float> lanes_out(std::size_t(bands) * kLanes);
  fb.apply_lanes<kLanes>(spectra.data(), lanes_out.data());
  for (int l = 0; l < kLanes; ++l) {
    std::vector<float> one(bins), out(bands);
    for (int k = 0; k < bins; ++k) one[k] = spectra[std::size_t(k) * kLanes + l];
    fb.apply(one.data(), out.data());
    for (int b = 0; b < bands; ++b) {
      double expected = 0;
      for (int k = 0; k < bins; ++k) expected += double(one[k]) * dense[std::size_t(k) * bands + b];
      EXPECT_NEAR(out[b], expected, 1e-4 * (1.0 + std::abs(expected))) << "band " << b;
      EXPECT_EQ(lanes_out[std::size_t(b) * kLanes + l], out[b]) << "band " << b << " lane " << l;
    }
  }
}

TEST(MelFilterbankTest, RejectsEdgesOutsideZeroToNyquistAndEmptyShapes) {
  EXPECT_THROW(MelFilterbank(0, 257, 16000, 0.0, 8000.0), std::invalid_argument);
  EXPECT_THROW(MelFilterbank(64, 1, 16000, 0.0, 8000.0), std::invalid_argument);
  EXPECT_THROW(MelFilterbank(64, 257, 16000, 0.0, 8001.0), std::invalid_argument);
  EXPECT_THROW(MelFilterbank(64, 257, 16000, 500.0, 500.0), std::invalid_argument);
  EXPECT_THROW(MelFilterbank(64, 257, 16000, -1.0, 8000.0), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::features
