#include "tessera/common/allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tessera::common {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kOwnMalloc = true;  // the sanitizer's allocator, not glibc's
#else
constexpr bool kOwnMalloc = false;
#endif

// glibc's default serves a 64 MiB block by mmap and unmaps it on free; after
// retain_freed_memory() the block comes from the heap and stays there, free,
// for the next allocation. mallinfo2: hblkhd = mmapped bytes, fordblks =
// free bytes held in the heap.
TEST(AllocatorTest, LargeFreedBlocksStayInTheProcess) {
#if defined(__GLIBC__)
  if (kOwnMalloc) GTEST_SKIP() << "sanitizer allocator";
  constexpr std::size_t kBlock = 64u << 20;
  const std::size_t mapped_before = mallinfo2().hblkhd;
  char* p = static_cast<char*>(std::malloc(kBlock));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, kBlock);
  EXPECT_GE(mallinfo2().hblkhd, mapped_before + kBlock);  // default: mmapped
  std::free(p);

  ASSERT_TRUE(retain_freed_memory());
  const std::size_t mapped = mallinfo2().hblkhd;
  p = static_cast<char*>(std::malloc(kBlock));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, kBlock);
  EXPECT_LT(mallinfo2().hblkhd, mapped + kBlock);  // from the heap
  std::free(p);
  EXPECT_GE(mallinfo2().fordblks, kBlock);  // kept, not trimmed
#else
  GTEST_SKIP() << "not glibc";
#endif
}

}  // namespace
}  // namespace tessera::common
