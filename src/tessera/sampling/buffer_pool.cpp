#include "tessera/sampling/buffer_pool.h"

#include <stdexcept>
#include <string>

namespace tessera::sampling {

std::shared_ptr<BufferPool> BufferPool::create(std::size_t floats, BlockAllocator allocate) {
  return std::shared_ptr<BufferPool>(new BufferPool(floats, std::move(allocate)));
}

BufferPool::BufferPool(std::size_t floats, BlockAllocator allocate)
    : floats_(floats), allocate_(std::move(allocate)) {
  if (floats_ == 0) throw std::invalid_argument("buffer pool: blocks must hold at least one float");
  if (!allocate_) {
    allocate_ = [](std::size_t n) {
      return std::shared_ptr<float>(new float[n], std::default_delete<float[]>());
    };
  }
}

std::shared_ptr<float> BufferPool::take() {
  std::shared_ptr<float> block;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!free_.empty()) {
      block = std::move(free_.back());
      free_.pop_back();
    }
  }
  if (!block) {
    block = allocate_(floats_);
    if (!block) {
      throw std::runtime_error("buffer pool: could not allocate a block of " +
                               std::to_string(floats_) + " floats");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ++made_;
  }
  // The handle keeps the pool alive, so a batch may outlive the pipeline
  // that filled it; releasing it returns the block.
  float* raw = block.get();
  return std::shared_ptr<float>(raw, [self = shared_from_this(), block](float*) mutable {
    self->give_back(std::move(block));
  });
}

void BufferPool::give_back(std::shared_ptr<float> block) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_.push_back(std::move(block));
}

std::size_t BufferPool::blocks_made() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return made_;
}

}  // namespace tessera::sampling
