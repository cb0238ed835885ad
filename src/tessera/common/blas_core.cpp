#include "tessera/common/blas_core.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tessera::common {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The instruction-set level of an OpenBLAS core name: 0 SSE only, 1 AVX,
// 2 AVX2+FMA, 3 AVX-512; -1 for a name this table does not know.
int core_level(const std::string& name) {
  static const char* const kSse[] = {"katmai",       "coppermine", "northwood", "prescott",
                                     "banias",       "atom",       "core2",     "penryn",
                                     "dunnington",   "nehalem",    "athlon",    "opteron",
                                     "opteron_sse3", "barcelona",  "nano",      "bobcat"};
  static const char* const kAvx[] = {"sandybridge", "bulldozer", "piledriver", "steamroller"};
  static const char* const kAvx2[] = {"haswell", "zen", "excavator"};
  static const char* const kAvx512[] = {"skylakex", "cooperlake", "sapphirerapids"};
  const std::string n = lower(name);
  auto in = [&](const auto& list) {
    return std::find_if(std::begin(list), std::end(list), [&](const char* c) { return n == c; }) !=
           std::end(list);
  };
  if (in(kSse)) return 0;
  if (in(kAvx)) return 1;
  if (in(kAvx2)) return 2;
  if (in(kAvx512)) return 3;
  return -1;
}

}  // namespace

CpuFeatures CpuFeatures::detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  // GCC's checks include the operating system's support (XCR0) for the
  // AVX and AVX-512 register state, not only the CPUID bits.
  __builtin_cpu_init();
  f.avx = __builtin_cpu_supports("avx");
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512cd = __builtin_cpu_supports("avx512cd");
#endif
  return f;
}

std::string openblas_core_override(const std::string& detected, const CpuFeatures& cpu) {
  // Only the fallback is corrected: an AVX2-era choice (Haswell, Zen) on
  // an AVX-512 CPU may be OpenBLAS's deliberate pick, and is kept.
  const int have = core_level(detected);
  if (have < 0 || have >= 2) return "";
  int best = -1;
  const char* name = "";
  if (cpu.avx512f && cpu.avx512cd && cpu.avx512bw && cpu.avx512dq && cpu.avx512vl) {
    best = 3, name = "SkylakeX";
  } else if (cpu.avx2 && cpu.fma) {
    best = 2, name = "Haswell";
  } else if (cpu.avx) {
    best = 1, name = "Sandybridge";
  }
  return best > have ? name : "";
}

std::string loaded_openblas_core() {
  // Looked up at run time: the BLAS behind libblas.so.3 may not be OpenBLAS.
  using CoreName = char* (*)();
  const auto f = reinterpret_cast<CoreName>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!f) return "";
  const char* name = f();
  return name ? name : "";
}

void reexec_with_matching_blas_core(char** argv) {
  const char* keep = std::getenv("TESSERA_BLAS_CORE");
  if (keep && std::strcmp(keep, "keep") == 0) return;
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  if (forced && *forced) return;  // the user's choice, or our own re-exec
  const std::string detected = loaded_openblas_core();
  if (detected.empty()) return;
  const std::string core = openblas_core_override(detected, CpuFeatures::detect());
  if (core.empty()) return;
  ::setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  ::execv("/proc/self/exe", argv);
  // Still here: exec failed. Run on with the slow kernels rather than not at all.
  std::fprintf(stderr,
               "warning: could not re-execute with OPENBLAS_CORETYPE=%s; OpenBLAS runs its "
               "slower %s kernels\n",
               core.c_str(), detected.c_str());
  ::unsetenv("OPENBLAS_CORETYPE");
}

}  // namespace tessera::common
