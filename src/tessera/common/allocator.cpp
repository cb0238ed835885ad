#include "tessera/common/allocator.h"

#include <cstdlib>  // any libc header: it defines __GLIBC__, tested below

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tessera::common {

bool retain_freed_memory() {
#if defined(__GLIBC__)
  // No mmap-served blocks (a block larger than a thread arena can hold still
  // falls back to mmap inside glibc), and no trimming at all: -1 (mallopt(3):
  // "disables trimming completely") rather than INT_MAX, whose 2 GiB of free
  // heap top a Table 1 fp32 step at batch 256 exceeds; then every step gave
  // 1.8-2 GB back and faulted it in again, 14% of its samples in the
  // kernel's page clearing (docs/history/performance-libtorch-1.13.md). Setting either also ends
  // glibc's dynamic threshold adjustment.
  const bool mmap_off = mallopt(M_MMAP_MAX, 0) == 1;
  const bool trim_off = mallopt(M_TRIM_THRESHOLD, -1) == 1;
  return mmap_off && trim_off;
#else
  return false;
#endif
}

}  // namespace tessera::common
