#include "tessera/train/adam_update.h"

#include <cmath>

#include "tessera/common/simd_dispatch.h"

namespace tessera::train {

namespace {

// Inlined into each dispatch clone below, so each compiles it for its ISA.
template <bool kDecay, bool kMax>
__attribute__((always_inline)) inline void update(float* __restrict p, const float* __restrict g,
                                                  float* __restrict m, float* __restrict v,
                                                  float* __restrict vmax, std::int64_t n,
                                                  const AdamConstants& c) {
  for (std::int64_t i = 0; i < n; ++i) {
    float gi = g[i];
    if constexpr (kDecay) gi = gi + c.weight_decay * p[i];
    const float mi = c.beta1 * m[i] + c.one_minus_beta1 * gi;
    float vi = c.beta2 * v[i] + c.one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if constexpr (kMax) {
      vi = vmax[i] > vi ? vmax[i] : vi;
      vmax[i] = vi;
    }
    const float denom = std::sqrt(vi) / c.sqrt_bias_correction2 + c.eps;
    p[i] = p[i] - c.step_size * (mi / denom);
  }
}

}  // namespace

TESSERA_TARGET_CLONES
void adam_update(float* p, const float* g, float* m, float* v, float* vmax, std::int64_t n,
                 const AdamConstants& c) {
  const bool decay = c.weight_decay != 0;
  if (decay && vmax) {
    update<true, true>(p, g, m, v, vmax, n, c);
  } else if (decay) {
    update<true, false>(p, g, m, v, vmax, n, c);
  } else if (vmax) {
    update<false, true>(p, g, m, v, vmax, n, c);
  } else {
    update<false, false>(p, g, m, v, vmax, n, c);
  }
}

}  // namespace tessera::train
