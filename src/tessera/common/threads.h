// The thread count of a command: what was asked for, or every core when
// nothing (0 or less) was.
#pragma once

#include <algorithm>
#include <thread>

namespace tessera::common {

inline int resolve_threads(int requested) {
  return requested > 0 ? requested : int(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace tessera::common
