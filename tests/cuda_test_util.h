// For the tests labelled gpu: why this process cannot run on a CUDA device,
// or "" when it can. Loads Tessera's CUDA module first, since LibTorch only
// sees CUDA once it is loaded (device/cuda_support.h).
//
//   if (const std::string why = tessera::testing::cuda_unavailable(); !why.empty())
//     GTEST_SKIP() << why;
#pragma once

#include <torch/torch.h>

#include <string>

#include "tessera/device/cuda_support.h"

namespace tessera::testing {

inline std::string cuda_unavailable() {
  try {
    device::load_cuda_support();
  } catch (const std::exception& e) {
    return std::string("the CUDA module cannot load: ") + e.what();
  }
  return torch::cuda::is_available() ? "" : "no CUDA device";
}

}  // namespace tessera::testing
