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

// A free heap top over INT_MAX bytes stays too: glibc trims the heap once
// its free top reaches M_TRIM_THRESHOLD, and a Table 1 fp32 step at batch 256
// frees more than 2 GiB at once. The block is never touched, so it costs
// address space only.
TEST(AllocatorTest, FreedHeapTopOverTwoGigabytesIsKept) {
#if defined(__GLIBC__)
  if (kOwnMalloc) GTEST_SKIP() << "sanitizer allocator";
  if (sizeof(void*) < 8) GTEST_SKIP() << "32-bit address space";
  ASSERT_TRUE(retain_freed_memory());
  constexpr std::size_t kBlock = std::size_t(5) << 29;  // 2.5 GiB
  void* p = std::malloc(kBlock);
  if (!p) GTEST_SKIP() << "no 2.5 GiB of address space";
  EXPECT_LT(mallinfo2().hblkhd, kBlock);  // from the heap, not mmap
  std::free(p);
  EXPECT_GE(mallinfo2().fordblks, kBlock);  // kept, not trimmed
#else
  GTEST_SKIP() << "not glibc";
#endif
}

}  // namespace
}  // namespace tessera::common
