#include "tessera/features/real_fft.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <random>

namespace tessera::features {
namespace {

// Reference: the DFT definition X[k] = sum_n x[n] e^{-2 pi i k n / N}, in double.
std::vector<std::complex<double>> naive_dft(const std::vector<float>& x) {
  const int n = static_cast<int>(x.size());
  std::vector<std::complex<double>> out(n / 2 + 1);
  for (int k = 0; k <= n / 2; ++k) {
    std::complex<double> acc = 0;
    for (int j = 0; j < n; ++j) acc += double(x[j]) * std::polar(1.0, -2.0 * M_PI * k * j / n);
    out[k] = acc;
  }
  return out;
}

class RealFftSizes : public ::testing::TestWithParam<int> {};

TEST_P(RealFftSizes, MatchesTheDftDefinition) {
  const int n = GetParam();
  std::mt19937 rng(n);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> x(n);
  for (auto& v : x) v = d(rng);
  RealFft fft(n);
  auto scratch = fft.make_scratch();
  std::vector<float> re(fft.bins()), im(fft.bins()), mag(fft.bins());
  fft.forward(x.data(), re.data(), im.data(), scratch);
  fft.magnitude(x.data(), mag.data(), scratch);
  const auto ref = naive_dft(x);
  // float32 FFT error grows like log2(n) * eps * sqrt(n) * |x|.
  const double tol = 1e-5 * std::sqrt(double(n)) * std::log2(double(n));
  for (int k = 0; k < fft.bins(); ++k) {
    EXPECT_NEAR(re[k], ref[k].real(), tol) << "bin " << k;
    EXPECT_NEAR(im[k], ref[k].imag(), tol) << "bin " << k;
    EXPECT_NEAR(mag[k], std::abs(ref[k]), tol) << "bin " << k;
  }
}

// The eight-lane path used by the extractor agrees with the one-frame path.
TEST_P(RealFftSizes, LanesMatchSingleTransforms) {
  const int n = GetParam();
  RealFft fft(n);
  std::mt19937 rng(n + 1);
  std::uniform_real_distribution<float> d(-1, 1);
  constexpr int L = RealFft::kLanes;
  std::vector<float> interleaved(std::size_t(n) * L), frames(std::size_t(n) * L);
  for (int l = 0; l < L; ++l) {
    for (int i = 0; i < n; ++i) frames[l * n + i] = interleaved[i * L + l] = d(rng);
  }
  auto ls = fft.make_lane_scratch();
  std::vector<float> lanes(std::size_t(fft.bins()) * L);
  fft.magnitude_lanes(interleaved.data(), lanes.data(), ls);
  auto s = fft.make_scratch();
  std::vector<float> mag(fft.bins());
  for (int l = 0; l < L; ++l) {
    fft.magnitude(frames.data() + l * n, mag.data(), s);
    for (int k = 0; k < fft.bins(); ++k) {
      ASSERT_NEAR(lanes[k * L + l], mag[k], 1e-5 * std::sqrt(double(n)))
          << "lane " << l << " bin " << k;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(PowersOfTwo, RealFftSizes, ::testing::Values(8, 16, 64, 512, 1024, 2048));

TEST(RealFftTest, RejectsNonPowerOfTwo) {
  EXPECT_THROW(RealFft(1000), std::invalid_argument);
  EXPECT_THROW(RealFft(4), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::features
