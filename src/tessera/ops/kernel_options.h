// Which of Tessera's own CPU kernels a network runs. Each one applies only
// where it has a kernel (bf16 training on the CPU); everywhere else the ops
// call LibTorch's operators, so fp32 and other devices stay bit-identical to
// plain LibTorch whatever these say. Turning them off is for measurements
// (`tessera bench step --kernels none`) and for checking a result against
// LibTorch's own operators.
//
//   model::ResNetOptions o;  o.kernels.conv_tuning = false;
#pragma once

#include <string>

#include "tessera/common/simd_dispatch.h"

namespace tessera::ops {

struct KernelOptions {
  // bf16 convolutions pick the fastest computation per layer shape (conv.h).
  bool conv_tuning = true;
  // Batch norm with its ReLU and residual add, and the stem's batch norm with
  // its max-pool, as single operators (batch_norm.h, stem_pool.h).
  bool fused_batch_norm = true;
  // bf16 convolutions on the CPU take and give channels-last (NHWC)
  // activations; the fused batch norm works only on those.
  bool bf16_channels_last = true;
  // The SIMD variant the fused batch norm and the fold run
  // (common/simd_dispatch.h). Every level computes the same bits
  // (tests/ops/simd_variants_test.cpp); a lower one is for that comparison.
  // Not part of describe().
  common::SimdLevel simd = common::cpu_simd_level();

  // "all", "none", or the names of those on, joined by '+'
  // ("conv_tuning+bf16_channels_last").
  std::string describe() const;
  // Throws std::invalid_argument for a SIMD level the CPU cannot run.
  void validate() const;
  // Parses describe()'s forms; throws std::invalid_argument naming the
  // unknown part.
  static KernelOptions parse(const std::string& text);
};

}  // namespace tessera::ops
