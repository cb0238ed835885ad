#include "tessera/device/device_feeder.h"

#include <stdexcept>
#include <string>

#include <c10/core/Event.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

namespace tessera::device {

// One batch's place: the host batch (kept until its copy is done), the
// device buffer it is copied into, and the two events that order the copy
// and the step that reads it.
struct DeviceFeeder::Slot {
  explicit Slot(c10::DeviceType type)
      : copied(type, c10::EventFlag::PYTORCH_DEFAULT),
        consumed(type, c10::EventFlag::PYTORCH_DEFAULT) {}
  sampling::TripletBatch batch;
  torch::Tensor device;  // capacity: the largest batch so far
  torch::Tensor ready;   // what pop() hands out: the batch's rows, shaped
  bool copy_in_flight = false;
  c10::Event copied;    // recorded on the copy stream after the copy
  c10::Event consumed;  // recorded on the step's stream after the step was queued
};

DeviceFeeder::DeviceFeeder(torch::Device device, std::vector<std::int64_t> tile_shape)
    : device_(device), tile_shape_(std::move(tile_shape)) {
  if (tile_shape_.size() != 3) {
    throw std::invalid_argument("device feeder: a tile's shape must be [channels, frames, bins]");
  }
  const c10::DeviceType type = on_host() ? c10::DeviceType::CPU : device_.type();
  for (int i = 0; i < kSlots; ++i) slots_.push_back(std::make_unique<Slot>(type));
  if (!on_host()) {
    c10::impl::VirtualGuardImpl impl(device_.type());
    if (!device_.has_index()) device_ = torch::Device(device_.type(), impl.getDevice().index());
    copy_stream_ = std::make_unique<c10::Stream>(impl.getStreamFromGlobalPool(device_));
  }
}

c10::Stream DeviceFeeder::step_stream() const {
  return c10::impl::VirtualGuardImpl(device_.type()).getStream(device_);
}

DeviceFeeder::~DeviceFeeder() {
  // The device buffers and host blocks go only after the copies and the
  // steps queued on them are done.
  if (on_host()) return;
  try {
    copy_stream_->synchronize();
    step_stream().synchronize();
  } catch (...) {
    // A failed device has nothing left to wait for.
  }
}

sampling::BlockAllocator DeviceFeeder::host_allocator(const torch::Device& device) {
  if (device.is_cpu()) return {};
  return [](std::size_t floats) {
    torch::Tensor t = torch::empty(
        {std::int64_t(floats)}, torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(true));
    float* p = t.data_ptr<float>();
    return std::shared_ptr<float>(p, [t](float*) mutable { t.reset(); });
  };
}

void DeviceFeeder::push(sampling::TripletBatch batch) {
  Slot& s = *slots_[std::size_t(next_slot_)];
  for (int q : queued_) {
    if (q == next_slot_) throw std::logic_error("device feeder: more batches pushed than slots");
  }
  if (popped_ == next_slot_) {
    throw std::logic_error("device feeder: push before the popped batch was released");
  }
  const std::size_t tile_floats = std::size_t(tile_shape_[0] * tile_shape_[1] * tile_shape_[2]);
  if (!batch.tiles || batch.size < 1 || batch.tile_floats != tile_floats) {
    throw std::invalid_argument(
        "device feeder: a batch of " + std::to_string(batch.size) + " triplets of " +
        std::to_string(batch.tile_floats) + "-float tiles" + (batch.tiles ? "" : " without tiles") +
        " does not fit tiles of " + std::to_string(tile_floats) + " floats");
  }
  const std::int64_t rows = 3 * std::int64_t(batch.size);
  std::vector<std::int64_t> shape = {rows, tile_shape_[0], tile_shape_[1], tile_shape_[2]};
  if (on_host()) {
    // The block itself is the step's input; the tensor holds it until the
    // step and anything it kept let go.
    std::shared_ptr<float> block = batch.tiles;
    s.ready = torch::from_blob(
        block.get(), shape, [block](void*) mutable { block.reset(); },
        torch::TensorOptions().dtype(torch::kFloat32));
    s.batch = std::move(batch);
  } else {
    if (s.copy_in_flight) s.copied.synchronize();  // its host block is free again
    s.copy_in_flight = false;
    s.batch = std::move(batch);
    if (!s.device.defined() || s.device.size(0) < rows) {
      s.consumed.synchronize();  // the old buffer may still be read by a step
      s.device = torch::empty(shape, torch::TensorOptions().dtype(torch::kFloat32).device(device_));
    }
    const torch::Tensor host =
        torch::from_blob(s.batch.tiles.get(), shape, torch::TensorOptions().dtype(torch::kFloat32));
    s.ready = s.device.narrow(0, 0, rows);
    // The copy may overwrite the buffer only once the step that read it last
    // has run; the host goes on at once.
    s.consumed.block(*copy_stream_);
    {
      c10::StreamGuard on_copy_stream(*copy_stream_);
      s.ready.copy_(host, /*non_blocking=*/true);
    }
    s.copied.record(*copy_stream_);
    s.copy_in_flight = true;
  }
  queued_.push_back(next_slot_);
  next_slot_ = (next_slot_ + 1) % kSlots;
}

torch::Tensor DeviceFeeder::pop() {
  if (queued_.empty()) throw std::logic_error("device feeder: pop with no batch pushed");
  if (popped_ >= 0) throw std::logic_error("device feeder: pop before the last batch was released");
  popped_ = queued_.front();
  queued_.pop_front();
  Slot& s = *slots_[std::size_t(popped_)];
  if (!on_host()) {
    // The step's stream waits for the copy on the device.
    s.copied.block(step_stream());
  }
  return s.ready;
}

void DeviceFeeder::release() {
  if (popped_ < 0) throw std::logic_error("device feeder: release with no batch popped");
  Slot& s = *slots_[std::size_t(popped_)];
  if (on_host()) {
    s.ready = torch::Tensor();
    s.batch = sampling::TripletBatch();
  } else {
    s.consumed.record(step_stream());
  }
  popped_ = -1;
}

}  // namespace tessera::device
