#include "tessera/common/allocator.h"

#include <climits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tessera::common {

bool retain_freed_memory() {
#if defined(__GLIBC__)
  // No mmap-served blocks (a block larger than a thread arena can hold still
  // falls back to mmap inside glibc), and no trimming below 2 GiB of free
  // heap top. Setting either also ends glibc's dynamic threshold adjustment.
  const bool mmap_off = mallopt(M_MMAP_MAX, 0) == 1;
  const bool trim_off = mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;
  return mmap_off && trim_off;
#else
  return false;
#endif
}

}  // namespace tessera::common
