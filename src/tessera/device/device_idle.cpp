#include "tessera/device/device_idle.h"

#include <c10/core/Event.h>
#include <c10/core/impl/VirtualGuardImpl.h>

namespace tessera::device {

// One step's two events (timing on: BACKEND_DEFAULT) and whether a gap
// before it counts.
struct DeviceIdleMeter::Mark {
  explicit Mark(c10::DeviceType type)
      : begin(type, c10::EventFlag::BACKEND_DEFAULT), end(type, c10::EventFlag::BACKEND_DEFAULT) {}
  c10::Event begin, end;
  bool after_previous = false;
};

DeviceIdleMeter::DeviceIdleMeter(torch::Device device)
    : active_(!device.is_cpu()), device_(device) {
  if (active_ && !device_.has_index()) {
    device_ = torch::Device(device_.type(),
                            c10::impl::VirtualGuardImpl(device_.type()).getDevice().index());
  }
}

DeviceIdleMeter::~DeviceIdleMeter() = default;

void DeviceIdleMeter::begin_loop() {
  new_loop_ = true;
}

void DeviceIdleMeter::step_begins() {
  if (!active_) return;
  auto m = std::make_unique<Mark>(device_.type());
  m->after_previous = !new_loop_;
  new_loop_ = false;
  m->begin.record(c10::impl::VirtualGuardImpl(device_.type()).getStream(device_));
  marks_.push_back(std::move(m));
}

void DeviceIdleMeter::step_ends() {
  if (!active_ || marks_.empty()) return;
  marks_.back()->end.record(c10::impl::VirtualGuardImpl(device_.type()).getStream(device_));
}

void DeviceIdleMeter::collect() {
  if (!active_) return;
  while (!marks_.empty()) {
    std::unique_ptr<Mark> m = std::move(marks_.front());
    marks_.pop_front();
    m->end.synchronize();
    // elapsedTime: milliseconds from this event to the other.
    busy_s_ += m->begin.elapsedTime(m->end) / 1000.0;
    if (m->after_previous && last_end_) idle_s_ += last_end_->elapsedTime(m->begin) / 1000.0;
    last_end_ = std::make_unique<c10::Event>(std::move(m->end));
  }
}

}  // namespace tessera::device
