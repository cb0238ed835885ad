// A one-line progress bar on a terminal; silent when stderr is not a tty so
// that logs stay clean (the trainer logs plain lines there instead).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace tessera::common {

class Progress {
 public:
  Progress(std::string label, std::size_t total);
  ~Progress();
  void update(std::size_t done, const std::string& extra = "");
  void finish();
  static bool enabled();

 private:
  std::string label_;
  std::size_t total_;
  bool active_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace tessera::common
