// Reusable host buffers for batches of tiles. A batch's tiles live in one
// block that goes back to the pool when the last holder lets go of it, so an
// epoch allocates (and the kernel maps and zeroes) a block once per batch in
// flight rather than once per batch. Where the blocks come from is the
// caller's choice: page-locked memory lets a GPU copy from them
// asynchronously (device/device_feeder.h); the default is the heap.
//
//   auto pool = BufferPool::create(floats_per_batch);
//   std::shared_ptr<float> block = pool->take();   // reused once released
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace tessera::sampling {

// Makes a block of `floats` floats; the returned pointer's deleter frees it.
using BlockAllocator = std::function<std::shared_ptr<float>(std::size_t floats)>;

class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  // Blocks of `floats` floats each, made by `allocate` (empty: the heap).
  static std::shared_ptr<BufferPool> create(std::size_t floats, BlockAllocator allocate = {});
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A free block, or a new one when none is free. Thread-safe. Its contents
  // are whatever the last user left.
  std::shared_ptr<float> take();
  std::size_t block_floats() const { return floats_; }
  // Blocks made so far (free or in use).
  std::size_t blocks_made() const;

 private:
  BufferPool(std::size_t floats, BlockAllocator allocate);
  void give_back(std::shared_ptr<float> block);

  const std::size_t floats_;
  BlockAllocator allocate_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<float>> free_;
  std::size_t made_ = 0;
};

}  // namespace tessera::sampling
