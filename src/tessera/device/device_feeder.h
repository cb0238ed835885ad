// Moves batches of tiles from host memory to the training device ahead of
// the step that uses them.
//
// On a CPU device a batch's block becomes the step's input as it is, with no
// copy. On a GPU the blocks are page-locked (host_allocator()), each batch is
// copied into one of two device buffers on a stream of its own while the
// previous step computes, and the step's stream waits for that copy on the
// device, not on the host. A buffer is refilled only after the step that
// read it is done, and a host block is given back only after its copy is.
//
//   auto pool = BufferPool::create(floats, DeviceFeeder::host_allocator(device));
//   DeviceFeeder feeder(device, tile_shape);
//   feeder.push(std::move(batch));            // starts its copy
//   torch::Tensor tiles = feeder.pop();       // [3B, C, T, F] on the device
//   ... queue the step on tiles ...
//   feeder.release();                         // after the step is queued
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "tessera/sampling/batch_pipeline.h"

namespace tessera::device {

class DeviceFeeder {
 public:
  // `tile_shape`: one tile's [channels, frames, bins].
  DeviceFeeder(torch::Device device, std::vector<std::int64_t> tile_shape);
  ~DeviceFeeder();
  DeviceFeeder(const DeviceFeeder&) = delete;
  DeviceFeeder& operator=(const DeviceFeeder&) = delete;

  // Host blocks that `device` copies from best: page-locked memory on a GPU
  // (asynchronous copies need it), the heap otherwise (empty).
  static sampling::BlockAllocator host_allocator(const torch::Device& device);
  // Starts moving a batch to the device; at most kSlots batches may be
  // pushed and not yet released.
  void push(sampling::TripletBatch batch);
  // The oldest pushed batch as [3B, C, T, F] on the device: work queued on
  // the current stream after this sees the whole batch.
  torch::Tensor pop();
  // Declares the last popped batch's step queued: its device buffer may be
  // refilled once the device has run that step.
  void release();
  // Batches pushed and not yet popped.
  std::size_t pending() const { return queued_.size(); }

  static constexpr int kSlots = 2;

 private:
  struct Slot;
  bool on_host() const { return device_.is_cpu(); }
  // The current stream of the device: the one the steps are queued on.
  c10::Stream step_stream() const;

  torch::Device device_;
  std::vector<std::int64_t> tile_shape_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::deque<int> queued_;  // slots pushed, oldest first
  int next_slot_ = 0;
  int popped_ = -1;  // the slot popped and not yet released
  std::unique_ptr<c10::Stream> copy_stream_;
};

}  // namespace tessera::device
