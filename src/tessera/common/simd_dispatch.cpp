#include "tessera/common/simd_dispatch.h"

#include <stdexcept>
#include <string>

namespace tessera::common {
namespace {

SimdLevel detect() {
#if TESSERA_SIMD_VARIANTS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return SimdLevel::kAvx512;
  if (__builtin_cpu_supports("avx2")) return SimdLevel::kAvx2;
#endif
  return SimdLevel::kBaseline;
}

}  // namespace

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::kAvx512:
      return "avx512";
    case SimdLevel::kAvx2:
      return "avx2";
    case SimdLevel::kBaseline:
      return "baseline";
  }
  return "?";
}

SimdLevel cpu_simd_level() {
  static const SimdLevel level = detect();
  return level;
}

void check_simd_level(SimdLevel level) {
  if (static_cast<int>(level) > static_cast<int>(cpu_simd_level())) {
    throw std::invalid_argument(std::string("simd: this build or CPU cannot run ") +
                                simd_level_name(level) + " (its best is " +
                                simd_level_name(cpu_simd_level()) + ")");
  }
}

std::vector<SimdLevel> runnable_simd_levels() {
  std::vector<SimdLevel> out;
  for (int l = 0; l <= static_cast<int>(cpu_simd_level()); ++l)
    out.push_back(static_cast<SimdLevel>(l));
  return out;
}

}  // namespace tessera::common
