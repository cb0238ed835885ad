// Tensor comparisons shared by the model kernel tests.
#pragma once

#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace tessera::ops::testing {

inline torch::Tensor nhwc_bf16(const torch::Tensor& t) {
  return t.to(torch::kBFloat16).contiguous(at::MemoryFormat::ChannelsLast);
}

inline double max_abs(const torch::Tensor& t) {
  return t.abs().max().item<double>();
}

// |a - b| <= tolerance * max|b|, elementwise, as doubles.
inline void expect_near(const torch::Tensor& a, const torch::Tensor& b, double tolerance,
                        const std::string& what) {
  const torch::Tensor ad = a.to(torch::kFloat64), bd = b.to(torch::kFloat64);
  const double err = max_abs(ad - bd), scale = max_abs(bd);
  EXPECT_LE(err, tolerance * scale) << what << ": max error " << err << " against max " << scale;
}

}  // namespace tessera::ops::testing
