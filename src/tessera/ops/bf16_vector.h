// GCC vector-extension lanes for the CPU kernels of this folder (max_pool,
// batch_norm), and bf16 conversions on them.
//
// 32 bf16 values load as one 512-bit vector of 16 words; a shift and a mask
// give the even and the odd ones as two float vectors, with no shuffle
// across lanes (V32 below). Kernels whose per-element constants are stored
// in that order (the even of each 32, then the odd: model/lane_order.h) run
// on it directly.
//
// Internal: the vector types never cross a library edge. All helpers are
// always inlined, so each SIMD variant (common/simd_dispatch.h) compiles them for its
// own instruction set.
#pragma once

#include <cstdint>

#include <c10/util/BFloat16.h>

namespace tessera::ops::simd {

// aligned(4), aligned(2): loads and stores need no alignment beyond their
// element's.
typedef float V8 __attribute__((vector_size(32), aligned(4)));
typedef std::int32_t V8i __attribute__((vector_size(32), aligned(4)));
typedef std::uint32_t V8u __attribute__((vector_size(32), aligned(4)));
typedef float V16 __attribute__((vector_size(64), aligned(4)));
typedef std::uint32_t V16u __attribute__((vector_size(64), aligned(4)));
typedef std::int32_t V16i __attribute__((vector_size(64), aligned(4)));
// 16 words of two 16-bit values each, at any 2-byte-aligned address.
typedef std::uint32_t V16w __attribute__((vector_size(64), aligned(2)));

// Floats rounded to bf16 as c10::BFloat16 rounds (to nearest even; NaN ->
// 0x7fc0): the bf16 bits are the high half of each lane, the low half is
// left over.
template <typename F, typename U>
__attribute__((always_inline)) inline U bf16_high_bits(F v) {
  const U bits = (U)v;
  const U rounded = bits + (((bits >> 16) & 1u) + 0x7fffu);
  return (v != v) ? U{} + 0x7fc00000u : rounded;
}

// The same bits in the low half of each lane.
template <typename F, typename U>
__attribute__((always_inline)) inline U bf16_bits(F v) {
  return bf16_high_bits<F, U>(v) >> 16;
}

__attribute__((always_inline)) inline V16 load16(const float* p) {
  return *reinterpret_cast<const V16*>(p);
}

__attribute__((always_inline)) inline void store16(V16 v, float* p) {
  *reinterpret_cast<V16*>(p) = v;
}

// 32 consecutive values as floats: the even ones (e) and the odd ones (o).
struct V32 {
  V16 e, o;
};
__attribute__((always_inline)) inline V32 operator+(V32 a, V32 b) {
  return {a.e + b.e, a.o + b.o};
}
__attribute__((always_inline)) inline V32 operator-(V32 a, V32 b) {
  return {a.e - b.e, a.o - b.o};
}
__attribute__((always_inline)) inline V32 operator*(V32 a, V32 b) {
  return {a.e * b.e, a.o * b.o};
}
__attribute__((always_inline)) inline V32& operator+=(V32& a, V32 b) {
  a.e += b.e, a.o += b.o;
  return a;
}

__attribute__((always_inline)) inline V32 load32(const c10::BFloat16* p) {
  const V16u w = *reinterpret_cast<const V16w*>(p);
  return {(V16)(w << 16), (V16)(w & 0xffff0000u)};
}
// 32 floats already in V32 order: 16 for the even lanes, then 16 for the odd.
__attribute__((always_inline)) inline V32 load32(const float* p) {
  return {load16(p), load16(p + 16)};
}
__attribute__((always_inline)) inline void store32(V32 v, c10::BFloat16* p) {
  *reinterpret_cast<V16w*>(p) =
      (bf16_high_bits<V16, V16u>(v.o) & 0xffff0000u) | (bf16_high_bits<V16, V16u>(v.e) >> 16);
}
__attribute__((always_inline)) inline void store32(V32 v, float* p) {
  store16(v.e, p);
  store16(v.o, p + 16);
}

}  // namespace tessera::ops::simd
