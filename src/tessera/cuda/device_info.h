// What the CUDA module reports about the GPUs it sees, as a C symbol that
// common::cuda_support_symbol() finds (tessera --version prints it).
#pragma once

#include <cstddef>

extern "C" {

// Writes one line per visible GPU ("cuda:0 NVIDIA H100 80GB HBM3, compute
// capability 9.0, 79.1 GiB"), or why there is none, into `out` (up to
// `size` bytes, NUL-terminated). Returns the number of GPUs.
using TesseraCudaDescribe = int (*)(char* out, std::size_t size);
int tessera_cuda_describe(char* out, std::size_t size);
}
