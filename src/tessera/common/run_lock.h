// One process per run directory: an exclusive flock on <dir>/.lock, held
// for the life of the object and released by the kernel if the process dies.
#pragma once

#include <string>

namespace tessera::common {

class RunLock {
 public:
  explicit RunLock(const std::string& dir);  // throws if another process holds it
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace tessera::common
