// The order in which the bf16 kernels of this folder keep per-channel
// constants: V32 order (bf16_vector.h), where 32 bf16 channels load as
// their 16 even channels, then their 16 odd ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tessera::ops::simd {

// Per-channel fp32 constants in V32 order: within each full group of 32
// channels the even ones first, then the odd ones; the channels after the
// last full group (which kernels take one at a time) keep their place.
inline std::vector<float> to_lanes(const std::vector<float>& v) {
  std::vector<float> out(v);
  for (std::size_t c0 = 0; c0 + 32 <= v.size(); c0 += 32) {
    for (std::size_t i = 0; i < 16; ++i) {
      out[c0 + i] = v[c0 + 2 * i];
      out[c0 + 16 + i] = v[c0 + 2 * i + 1];
    }
  }
  return out;
}

// The inverse of to_lanes, in place.
template <typename T>
inline void from_lanes(std::vector<T>& v) {
  const std::vector<T> in(v);
  for (std::size_t c0 = 0; c0 + 32 <= v.size(); c0 += 32) {
    for (std::size_t i = 0; i < 16; ++i) {
      v[c0 + 2 * i] = in[c0 + i];
      v[c0 + 2 * i + 1] = in[c0 + 16 + i];
    }
  }
}

// Where channel ch of c sits in V32 order (to_lanes), for loops that take
// the channels one at a time.
inline std::int64_t lane_of(std::int64_t ch, std::int64_t c) {
  const std::int64_t group = ch / 32 * 32, i = ch % 32;
  if (group + 32 > c) return ch;
  return group + (i % 2) * 16 + i / 2;
}

}  // namespace tessera::ops::simd
