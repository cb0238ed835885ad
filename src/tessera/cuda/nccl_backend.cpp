#include "tessera/cuda/nccl_backend.h"

#include <cstdio>
#include <exception>

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

extern "C" c10d::Backend* tessera_make_nccl_backend(c10d::Store* store, int rank, int world,
                                                    std::int64_t timeout_ms, char* error,
                                                    std::size_t error_size) {
  try {
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = std::chrono::milliseconds(timeout_ms);
    auto borrowed = c10::intrusive_ptr<c10d::Store>::reclaim_copy(store);
    c10::intrusive_ptr<c10d::Backend> pg =
        c10::make_intrusive<c10d::ProcessGroupNCCL>(borrowed, rank, world, options);
    return pg.release();
  } catch (const std::exception& e) {
    if (error && error_size) std::snprintf(error, error_size, "%s", e.what());
    return nullptr;
  }
}
