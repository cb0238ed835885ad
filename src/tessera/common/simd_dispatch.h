// Function multi-versioning for the hot vector loops: GCC compiles the
// function for AVX-512, AVX2 and the baseline and picks one at load time.
// Other compilers (clang builds the fuzzers) get the baseline only, and so
// do ThreadSanitizer builds: the loader runs the ifunc resolvers before the
// TSan runtime is up, and the instrumented resolvers crash the process.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    !defined(TESSERA_NO_TARGET_CLONES)
#define TESSERA_TARGET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TESSERA_TARGET_CLONES
#endif
