// Explicit SIMD dispatch for the hot vector loops. Each such function is
// compiled three times, for AVX-512, AVX2 and the baseline, from one body,
// and a dispatcher calls the variant of the level its caller names: the
// options of the computer that runs it carry the level (FeatureOptions::simd,
// KernelOptions::simd), by default the best the CPU has, so that a test can
// run every variant the machine supports side by side and compare them.
// There is no process-wide level.
//
// Only GCC on x86-64 builds the AVX variants. Other compilers (clang builds
// the fuzzers) and ThreadSanitizer builds (TESSERA_NO_TARGET_CLONES) get the
// baseline only, and cpu_simd_level() then says kBaseline.
//
// A function with the body `void name_body(params)` (always inlined, so each
// variant compiles it for its own instruction set) becomes dispatched with
//   TESSERA_SIMD_DISPATCH(name, (params), (args))
// and a member function with TESSERA_SIMD_DISPATCH(Class::name, (params),
// (args), const), its variants declared in the class. The dispatcher takes
// the level as its last argument: name(args..., level).
#pragma once

#include <vector>

namespace tessera::common {

enum class SimdLevel { kBaseline = 0, kAvx2 = 1, kAvx512 = 2 };

const char* simd_level_name(SimdLevel level);
// The best level this build and this CPU support.
SimdLevel cpu_simd_level();
// Throws std::invalid_argument, naming both, for a level above
// cpu_simd_level(): its instructions would fault on this CPU.
void check_simd_level(SimdLevel level);
// Every level up to cpu_simd_level(), lowest first: what a test can run.
std::vector<SimdLevel> runnable_simd_levels();

}  // namespace tessera::common

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    !defined(TESSERA_NO_TARGET_CLONES)
#define TESSERA_SIMD_VARIANTS 1
#define TESSERA_SIMD_TARGET_AVX512 __attribute__((target("avx512f")))
#define TESSERA_SIMD_TARGET_AVX2 __attribute__((target("avx2")))
#else
#define TESSERA_SIMD_VARIANTS 0
#define TESSERA_SIMD_TARGET_AVX512
#define TESSERA_SIMD_TARGET_AVX2
#endif

// The body a dispatched function's variants inline.
#define TESSERA_SIMD_BODY __attribute__((always_inline)) inline

#define TESSERA_SIMD_UNPAREN(...) __VA_ARGS__

#define TESSERA_SIMD_DISPATCH(name, params, args, ...)                                     \
  TESSERA_SIMD_TARGET_AVX512 void name##_avx512 params __VA_ARGS__ {                       \
    name##_body args;                                                                      \
  }                                                                                        \
  TESSERA_SIMD_TARGET_AVX2 void name##_avx2 params __VA_ARGS__ {                           \
    name##_body args;                                                                      \
  }                                                                                        \
  void name##_baseline params __VA_ARGS__ {                                                \
    name##_body args;                                                                      \
  }                                                                                        \
  void name(TESSERA_SIMD_UNPAREN params, ::tessera::common::SimdLevel level) __VA_ARGS__ { \
    switch (level) {                                                                       \
      case ::tessera::common::SimdLevel::kAvx512:                                          \
        return name##_avx512 args;                                                         \
      case ::tessera::common::SimdLevel::kAvx2:                                            \
        return name##_avx2 args;                                                           \
      default:                                                                             \
        return name##_baseline args;                                                       \
    }                                                                                      \
  }
