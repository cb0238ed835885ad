// The pool of batch buffers (sampling/buffer_pool.h): blocks are made by the
// chosen allocator, reused once released, and freed with the pool's last
// holder.
#include "tessera/sampling/buffer_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace tessera::sampling {
namespace {

// An allocator that counts the blocks it made and the ones freed.
struct CountingAllocator {
  std::shared_ptr<int> made = std::make_shared<int>(0), freed = std::make_shared<int>(0);
  BlockAllocator get() const {
    return [made = made, freed = freed](std::size_t n) {
      ++*made;
      return std::shared_ptr<float>(new float[n], [freed](float* p) {
        ++*freed;
        delete[] p;
      });
    };
  }
};

TEST(BufferPoolTest, ReleasedBlocksAreTakenAgain) {
  CountingAllocator counts;
  auto pool = BufferPool::create(16, counts.get());
  float* first = nullptr;
  {
    std::shared_ptr<float> a = pool->take();
    first = a.get();
    a.get()[15] = 7.0f;  // the whole block is writable
  }
  std::shared_ptr<float> b = pool->take();
  EXPECT_EQ(b.get(), first);
  EXPECT_EQ(b.get()[15], 7.0f);             // as the last user left it
  std::shared_ptr<float> c = pool->take();  // b is still held: a new block
  EXPECT_NE(c.get(), first);
  EXPECT_EQ(pool->blocks_made(), 2u);
  EXPECT_EQ(*counts.made, 2);
  EXPECT_EQ(*counts.freed, 0);
}

// A block may outlive every other holder of the pool (a batch kept after
// its pipeline ended); the blocks are freed, each once, when the last goes.
TEST(BufferPoolTest, BlocksOutliveThePoolHandle) {
  CountingAllocator counts;
  std::shared_ptr<float> kept;
  {
    auto pool = BufferPool::create(8, counts.get());
    kept = pool->take();
    pool->take();  // released at once, back in the pool
  }
  EXPECT_EQ(*counts.freed, 0);
  kept.get()[7] = 1.0f;
  kept.reset();
  EXPECT_EQ(*counts.made, 2);
  EXPECT_EQ(*counts.freed, 2);
}

// Many threads taking and releasing: no block is handed to two holders at
// once, and no more blocks are made than there are holders.
TEST(BufferPoolTest, ThreadsNeverShareABlock) {
  auto pool = BufferPool::create(4);
  std::vector<std::thread> threads;
  std::atomic<bool> shared{false};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::shared_ptr<float> b = pool->take();
        b.get()[0] = float(t);
        std::this_thread::yield();
        if (b.get()[0] != float(t)) shared = true;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(shared.load());
  EXPECT_LE(pool->blocks_made(), 4u);
}

TEST(BufferPoolTest, EmptyBlocksAreRefused) {
  EXPECT_THROW(BufferPool::create(0), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::sampling
