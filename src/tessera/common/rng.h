// Deterministic seed derivation. Every random stream in Tessera is seeded by
// mixing the run's seed with what the stream belongs to (epoch, recording,
// worker), so results do not depend on thread count or scheduling.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace tessera::common {

// SplitMix64's finaliser (Steele, Lea, Flood 2014): a bijective avalanche mix.
inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline std::uint64_t derive_seed(std::initializer_list<std::uint64_t> parts) {
  std::uint64_t h = 0x243f6a8885a308d3ULL;  // pi's fraction, any odd constant works
  for (std::uint64_t p : parts) h = mix64(h ^ mix64(p));
  return h;
}

}  // namespace tessera::common
