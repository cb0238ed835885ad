// What the CUDA module (libtessera_cuda.so) exports, as C symbols that
// common::cuda_support_symbol() finds: the NCCL process group, which lives
// in libtorch_cuda and so cannot be named by code in the CPU-only binary.
// Both sides are built against the same LibTorch, so the objects crossing
// are ordinary c10d ones; ownership crosses as one intrusive reference.
#pragma once

#include <cstdint>

namespace c10d {
class Backend;
class Store;
}  // namespace c10d

extern "C" {

// A c10d::ProcessGroupNCCL over `store` (borrowed: the group takes its own
// reference). Returns one owned reference (reclaim it with
// c10::intrusive_ptr<c10d::Backend>::reclaim), or null with `error` filled
// (up to error_size bytes, NUL-terminated).
using TesseraMakeNcclBackend = c10d::Backend* (*)(c10d::Store* store, int rank, int world,
                                                  std::int64_t timeout_ms, char* error,
                                                  std::size_t error_size);
c10d::Backend* tessera_make_nccl_backend(c10d::Store* store, int rank, int world,
                                         std::int64_t timeout_ms, char* error,
                                         std::size_t error_size);
}
