// The thread count of a command: what was asked for, or the cores this
// process may run on when nothing (0 or less) was.
#pragma once

#include <sched.h>

#include <algorithm>
#include <thread>

namespace tessera::common {

// The cores this process may run on: its CPU affinity (taskset, a
// container's cpuset), else every core the machine has.
inline int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

inline int resolve_threads(int requested) {
  return requested > 0 ? requested : available_cores();
}

}  // namespace tessera::common
