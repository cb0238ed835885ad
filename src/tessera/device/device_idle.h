// How long a GPU sat idle between training steps: events on the step's
// stream mark where each step's work begins (after its batch's copy) and
// ends, and the device's own clock gives the gaps. A gap is time the device
// had nothing queued: the host was late with the next step, or its batch's
// copy was not done. On the CPU nothing is measured (active() is false).
//
//   DeviceIdleMeter idle(device);
//   idle.begin_loop();                 // an epoch's steps start
//   idle.step_begins(); ... queue the step ...; idle.step_ends();
//   ... after the device has run them (a read-back):
//   idle.collect();
//   idle.idle_seconds(), idle.busy_seconds()
#pragma once

#include <deque>
#include <memory>

#include <torch/torch.h>

namespace c10 {
class Event;
}

namespace tessera::device {

class DeviceIdleMeter {
 public:
  explicit DeviceIdleMeter(torch::Device device);
  ~DeviceIdleMeter();
  DeviceIdleMeter(const DeviceIdleMeter&) = delete;
  DeviceIdleMeter& operator=(const DeviceIdleMeter&) = delete;

  bool active() const { return active_; }
  // The next step follows no earlier one (the gap before it is not counted).
  void begin_loop();
  void step_begins();
  void step_ends();
  // Adds up the marked steps; the device must have run them (it waits for
  // them otherwise).
  void collect();
  double idle_seconds() const { return idle_s_; }
  double busy_seconds() const { return busy_s_; }

 private:
  struct Mark;
  bool active_ = false;
  torch::Device device_;
  std::deque<std::unique_ptr<Mark>> marks_;
  std::unique_ptr<c10::Event> last_end_;  // of the last collected step
  bool new_loop_ = true;
  double idle_s_ = 0, busy_s_ = 0;
};

}  // namespace tessera::device
