// The temporary files of crash-safe writes, and what a crash leaves of them.
//
// A write goes to "<target>.tmp.<pid>@<host>.<n>[suffix]" beside its target
// and is renamed over it (atomic_file.h); a process killed in between leaves
// that file behind. Commands that write into a run, sweep or cache
// directory remove, when they start, the temporaries whose process is gone:
// those named with this host and a pid that no longer exists. Those of live
// processes (another rank, a concurrent cache build) and those of other
// hosts sharing the directory are never touched.
//
//   std::string tmp = temporary_name(path, ".wav");
//   int removed = remove_orphaned_temporaries(run_dir);
#pragma once

#include <string>

namespace tessera::common {

// A fresh temporary name for `target` owned by this process.
std::string temporary_name(const std::string& target, const std::string& suffix = "");

// Parses a file name written by temporary_name (or by Tessera before hosts
// were named: "<target>.tmp.<pid>.<n>", taken as this host's). False if it
// is not one.
struct TemporaryOwner {
  long pid = 0;
  std::string host;
};
bool temporary_owner(const std::string& file_name, TemporaryOwner& owner);

// Removes, below `dir` (recursively), the temporaries of processes of this
// host that no longer exist. Returns how many; a missing `dir` is 0.
int remove_orphaned_temporaries(const std::string& dir);

}  // namespace tessera::common
