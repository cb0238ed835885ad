// Checkpoints: the model, the optimiser state, the step and epoch, torch's
// RNG state (the CPU's, and the GPU's when the model is on one: dropout
// draws from it) and a JSON description of what produced them. Each is written to
// a temporary file, fsync'ed and renamed, so a crash or a full disk leaves
// the previous checkpoint intact; the newest `keep` are kept.
//
// The metadata carries a format number. Format 1 (no number) is what
// Tessera wrote on LibTorch 1.13, which filed optimiser state under other
// keys: its weights still load, but resuming from it is refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

namespace tessera::train {

// Format 2: LibTorch 2.x optimiser state.
inline constexpr int kCheckpointFormat = 2;

struct CheckpointState {
  int epoch = 0;          // epochs completed
  std::int64_t step = 0;  // optimiser steps completed
  nlohmann::json meta;    // model fingerprint and anything else to check on load
};

// Writes <dir>/epoch_<NNNN>.pt and prunes all but the newest `keep`.
std::string save_checkpoint(const std::string& dir, const CheckpointState& state,
                            torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                            int keep = 3);

// The file name of epoch `epoch`'s checkpoint (epoch_NNNN.pt), and the
// epoch a checkpoint path names (-1 for a name not of that form).
std::string checkpoint_name(int epoch);
int checkpoint_epoch(const std::string& path);

// Paths of the checkpoints in `dir`, oldest first.
std::vector<std::string> list_checkpoints(const std::string& dir);

// Loads into `model` and `optimizer` (either may be null). Before touching
// them it compares `expected_meta`'s keys with the stored meta and throws
// std::runtime_error naming the first mismatch; it refuses a format newer
// than kCheckpointFormat, and an older one when `optimizer` is given.
CheckpointState load_checkpoint(const std::string& path, torch::nn::Module* model,
                                torch::optim::Optimizer* optimizer,
                                const nlohmann::json& expected_meta);

}  // namespace tessera::train
