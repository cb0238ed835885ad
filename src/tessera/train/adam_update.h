// Adam's update of one parameter's elements, in one pass over raw fp32
// arrays (train/fused_adam.h runs it over each parameter, on every thread).
// Torch-free, so that its file keeps its own floating-point flags without
// invalidating the precompiled LibTorch header.
#pragma once

#include <cstdint>

namespace tessera::train {

// The step's constants, in the precision the update computes in.
struct AdamConstants {
  float beta1 = 0.9f, one_minus_beta1 = 0.1f, beta2 = 0.999f, one_minus_beta2 = 0.001f;
  float sqrt_bias_correction2 = 1, eps = 1e-8f, step_size = 1e-3f, weight_decay = 0;
};

// For i in [0, n), in float, in the order of torch::optim::Adam's tensor
// operations:
//   g' = g + weight_decay * p                    (only if weight_decay != 0)
//   m  = beta1 * m + (1 - beta1) * g'
//   v  = beta2 * v + (1 - beta2) * g' * g'
//   vmax = max(vmax, v), and v' = vmax            (only if vmax is given)
//   p  = p - step_size * (m / (sqrt(v') / sqrt_bias_correction2 + eps))
// Compiled without FMA contraction, so that every CPU dispatch clone gives
// the same bits. The arrays must not overlap.
void adam_update(float* p, const float* g, float* m, float* v, float* vmax, std::int64_t n,
                 const AdamConstants& c);

}  // namespace tessera::train
