// A vectorised natural logarithm for positive, normal floats: the log-mel's
// log(mel + 1e-6) over eight frames at once. glibc's logf is scalar here
// and took 15% of the extractor's time.
#pragma once

#include "tessera/common/simd_dispatch.h"

namespace tessera::features {

// v[i] = ln(v[i]) for i < count; count must be a multiple of 8 and every
// v[i] a positive normal float. Accurate to a few ulp (see the test).
// `level` picks the SIMD variant (common/simd_dispatch.h); every level gives
// the same bits.
void log_inplace_x8(float* v, int count, common::SimdLevel level = common::cpu_simd_level());

}  // namespace tessera::features
