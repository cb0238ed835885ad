// Child processes: start a program with its output sent to a file and an
// edited environment, and wait for it. The sweep's worker processes and the
// tests that drive the CLI use this one helper.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace tessera::common {

struct SpawnOptions {
  // stdout and stderr go to this file; empty: inherited from this process.
  std::string output_path;
  bool append = false;  // false: the file is truncated
  // Variables removed from this process's environment for the child (names
  // only, e.g. "RANK"), then "NAME=value" entries added (replacing one of
  // the same name).
  std::vector<std::string> unset_env;
  std::vector<std::string> set_env;
  void validate() const;
};

// Starts argv[0] (a path; no PATH search) with arguments argv[1...].
// Throws std::runtime_error naming the program when it cannot start.
pid_t spawn_process(const std::vector<std::string>& argv, const SpawnOptions& options = {});

struct ProcessExit {
  bool finished = false;  // false: still running (a non-blocking wait)
  int code = -1;          // exit status, or 128 + the signal that ended it
  bool ok() const { return finished && code == 0; }
};

// Waits for the child `pid` (block = false: returns at once if it runs on).
ProcessExit wait_process(pid_t pid, bool block = true);

// The path of the running executable (/proc/self/exe).
std::string self_executable();

}  // namespace tessera::common
