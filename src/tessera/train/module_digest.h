// A 64-bit digest of a network's parameters and buffers, to check that the
// ranks of a data-parallel run hold the same network: their gradients are
// averaged and their batch-norm statistics broadcast, so after an epoch
// they must agree bit for bit, and a rank that drifted (a collective that
// reduced different tensors, a non-deterministic kernel) shows here.
//
//   const std::uint64_t mine = module_digest(*net);
//   const auto all = gather_digests(mine, rank, world, all_reduce_sum);
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace tessera::train {

// FNV-1a over each parameter's, then each buffer's dtype, shape and values
// in logical (row-major) order, whatever the device or memory layout.
std::uint64_t module_digest(torch::nn::Module& module);

// Every rank's digest, through a sum over ranks of doubles: each rank
// writes its digest as four 16-bit parts (exact in a double) into its own
// place of a zeroed vector. Every rank must call it.
std::vector<std::uint64_t> gather_digests(
    std::uint64_t mine, int rank, int world,
    const std::function<void(std::vector<double>&)>& all_reduce_sum);

// The digests as the run directory records them: 16 hex digits.
std::string digest_hex(std::uint64_t digest);

}  // namespace tessera::train
