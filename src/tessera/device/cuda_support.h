// LibTorch's CUDA side, loaded on demand. Tessera links only LibTorch's CPU
// libraries; libtorch_cuda and NVIDIA's libraries come with a module of our
// own, libtessera_cuda.so (src/tessera/cuda), which this loads the first
// time a command is given a CUDA device. A CPU-only run never maps them.
//
// Load it before anything asks LibTorch about CUDA: LibTorch looks up its
// CUDA hooks once, and a process that asked before they were loaded stays
// without CUDA.
//
//   device::load_cuda_support();   // throws, naming the module, if it cannot
//   auto* make = device::cuda_support_symbol("tessera_make_nccl_backend");
#pragma once

#include <string>

namespace tessera::device {

// Loads the module (and with it libtorch_cuda) once; later calls return at
// once. It is looked for beside the running executable, then in the build
// tree's directory it was written to. Throws std::runtime_error naming the
// module and the loader's reason.
void load_cuda_support();

// A symbol the module exports (load_cuda_support() first); throws if absent.
void* cuda_support_symbol(const char* name);

// Loads the module when `device` names a CUDA device ("cuda", "cuda:1").
void load_cuda_support_for(const std::string& device);

}  // namespace tessera::device
