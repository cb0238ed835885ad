// DeviceFeeder (device/device_feeder.h) on the CPU: batches come out in the
// order they went in, as [3B, C, T, F] tensors over the batch's own block
// (no copy), which stays alive while a tensor uses it; misuse is refused.
// tests/train/cuda_test.cpp runs the GPU side.
#include "tessera/device/device_feeder.h"

#include <gtest/gtest.h>

namespace tessera::device {
namespace {

constexpr std::size_t kTile = 2 * 3 * 4;  // channels x frames x bins

// A batch of `size` triplets whose floats count up from `first`.
sampling::TripletBatch batch(sampling::BufferPool& pool, int size, float first) {
  sampling::TripletBatch b;
  b.size = size;
  b.tile_floats = kTile;
  b.tiles = pool.take();
  for (std::size_t i = 0; i < b.floats(); ++i) b.tiles.get()[i] = first + float(i);
  return b;
}

TEST(DeviceFeederTest, OnTheCpuTheBlockIsTheInput) {
  auto pool = sampling::BufferPool::create(3 * 4 * kTile);
  DeviceFeeder feeder(torch::kCPU, {2, 3, 4});
  EXPECT_FALSE(bool(DeviceFeeder::host_allocator(torch::kCPU)));  // the heap
  sampling::TripletBatch first = batch(*pool, 4, 0), second = batch(*pool, 3, 1000);
  const float* first_block = first.tiles.get();
  feeder.push(std::move(first));
  feeder.push(std::move(second));
  EXPECT_EQ(feeder.pending(), 2u);
  const torch::Tensor a = feeder.pop();
  EXPECT_EQ(a.sizes(), (std::vector<std::int64_t>{12, 2, 3, 4}));
  EXPECT_EQ(a.data_ptr<float>(), first_block);
  EXPECT_EQ(a[11][1][2][3].item<float>(), float(12 * kTile - 1));
  feeder.release();
  // Released by the feeder, the block lives on while the tensor does.
  EXPECT_NE(pool->take().get(), first_block);
  const torch::Tensor b = feeder.pop();
  EXPECT_EQ(b.size(0), 9);  // a short last batch keeps its own size
  EXPECT_EQ(b[0][0][0][0].item<float>(), 1000.0f);
  feeder.release();
  EXPECT_EQ(feeder.pending(), 0u);
  EXPECT_EQ(a[0][0][0][0].item<float>(), 0.0f);
}

TEST(DeviceFeederTest, MisuseIsRefused) {
  auto pool = sampling::BufferPool::create(3 * 4 * kTile);
  DeviceFeeder feeder(torch::kCPU, {2, 3, 4});
  EXPECT_THROW(feeder.pop(), std::logic_error);
  EXPECT_THROW(feeder.release(), std::logic_error);
  feeder.push(batch(*pool, 4, 0));
  feeder.push(batch(*pool, 4, 0));
  EXPECT_THROW(feeder.push(batch(*pool, 4, 0)), std::logic_error);  // two slots
  feeder.pop();
  EXPECT_THROW(feeder.pop(), std::logic_error);                     // the first is not released
  EXPECT_THROW(feeder.push(batch(*pool, 4, 0)), std::logic_error);  // its slot is in use
  feeder.release();
  feeder.push(batch(*pool, 4, 0));
  EXPECT_THROW(DeviceFeeder(torch::kCPU, {3, 4}), std::invalid_argument);
  // A batch whose tiles are not the feeder's shape, or that has none.
  DeviceFeeder other(torch::kCPU, {2, 3, 5});
  EXPECT_THROW(other.push(batch(*pool, 4, 0)), std::invalid_argument);
  EXPECT_THROW(other.push(sampling::TripletBatch{}), std::invalid_argument);
  EXPECT_EQ(other.pending(), 0u);
}

}  // namespace
}  // namespace tessera::device
