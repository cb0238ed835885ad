#pragma once

// The version printed by `tessera --version` and stored in checkpoints.

namespace tessera {
inline constexpr const char* kVersion = "0.1.0";
}
