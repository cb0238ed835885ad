#include "tessera/features/fast_log.h"
#include "tessera/common/simd_dispatch.h"

#include <cstdint>

namespace tessera::features {
namespace {
typedef float V8 __attribute__((vector_size(32), aligned(4)));
typedef std::int32_t V8i __attribute__((vector_size(32), aligned(4)));

// x = m * 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(s) with
// s = (m - 1) / (m + 1), |s| <= 0.1716, whose odd series to s^9 leaves a
// relative error below 4e-10 (the next term is 2 s^11 / 11). ln 2 is split
// into a head exact in float and a tail (Cody & Waite) so e * ln2 adds no
// rounding error of its own.
TESSERA_SIMD_BODY void log_inplace_x8_body(float* v, int count) {
  V8* p = reinterpret_cast<V8*>(v);
  const V8i mant_mask = V8i{} + 0x007fffff;
  const V8i one_bits = V8i{} + 0x3f800000;
  for (int i = 0; i < count / 8; ++i) {
    const V8 x = p[i];
    const V8i bits = (V8i)x;  // a cast between vector types reinterprets the bits
    V8i e = ((bits >> 23) & 0xff) - 127;
    const V8i mbits = (bits & mant_mask) | one_bits;
    V8 m = (V8)mbits;
    const V8i big = m > 1.41421356f;  // -1 where true
    m = big ? m * 0.5f : m;
    e = e - big;
    const V8 s = (m - 1.0f) / (m + 1.0f);
    const V8 s2 = s * s;
    const V8 poly =
        s * (2.0f + s2 * (0.666666667f + s2 * (0.4f + s2 * (0.285714286f + s2 * 0.222222222f))));
    const V8 ef = __builtin_convertvector(e, V8);
    p[i] = ef * 0.693145752f + (ef * 1.42860677e-06f + poly);
  }
}

}  // namespace

// Every variant adds and multiplies in the same order without contraction
// (-ffp-contract=off), so all compute the same bits.
TESSERA_SIMD_DISPATCH(log_inplace_x8, (float* v, int count), (v, count))

}  // namespace tessera::features
