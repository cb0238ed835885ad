#pragma once

// at::parallel_for, for Tessera's kernels. With ATen's OpenMP
// backend the parallel region is in the header template itself, so in a file
// compiled without OpenMP it quietly runs on one thread while LibTorch's own
// kernels use every core (our batch norm, pooling, unfold and fold once did,
// for a fifth of a bf16 step). Fail the build instead.
#include <ATen/Parallel.h>

#if AT_PARALLEL_OPENMP && !defined(_OPENMP)
#error "tessera's kernels need OpenMP (-fopenmp) where LibTorch parallelises with OpenMP"
#endif
