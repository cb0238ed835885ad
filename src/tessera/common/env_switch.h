// A process-wide on/off setting that starts from an environment variable
// and that code may change later (tests, A/B measurements): NAME=off turns
// it off, anything else or nothing leaves it on.
//
//   common::EnvSwitch& tuning() { static common::EnvSwitch s("TESSERA_CONV_TUNING"); return s; }
//   if (tuning().on()) ...;   tuning().set(false);
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace tessera::common {

class EnvSwitch {
 public:
  explicit EnvSwitch(const char* name) : on_(!switched_off(std::getenv(name))) {}
  bool on() const { return on_; }
  void set(bool on) { on_ = on; }

 private:
  static bool switched_off(const char* value) { return value && std::strcmp(value, "off") == 0; }
  std::atomic<bool> on_;
};

}  // namespace tessera::common
