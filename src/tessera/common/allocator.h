// Keeps freed memory in the process instead of returning it to the kernel.
//
// A training step allocates and frees the same large activation and gradient
// buffers every step. glibc serves blocks above its mmap threshold with fresh
// mappings and trims the heap top on free, so every step pays page faults and
// the kernel's zeroing of those pages again: 12-30% of a ResNet18 step on
// this machine's CPU (docs/history/performance-libtorch-1.13.md). After retain_freed_memory(),
// large blocks come from the heap and freed memory stays there for the next
// step; the cost is peak RSS, as freed blocks stay in a fragmented heap.
// Python users get the same effect with GLIBC_TUNABLES; `tessera --malloc
// glibc` keeps glibc's. On LibTorch 2.11 it still makes bf16 steps at the
// larger batches faster (docs/performance.md; the RSS cost was measured on
// LibTorch 1.13, docs/history/performance-libtorch-1.13.md).
//
// Call once, in main(), before a command allocates its buffers. No effect
// off glibc.
#pragma once

namespace tessera::common {

// Returns true when the allocator accepted the settings.
bool retain_freed_memory();

}  // namespace tessera::common
