// `tessera --version`: what a bug report needs first. The version, the
// LibTorch it runs on with its CPU libraries (BLAS, oneDNN, the CPU kernels
// it dispatches to), and whether CUDA is usable, with each GPU. Asking about
// CUDA loads LibTorch's CUDA support (device/cuda_support.h); a failure to
// load is reported as the reason CUDA is not available.
#pragma once

#include <string>

namespace tessera::app {

std::string version_report();

}  // namespace tessera::app
