#include "tessera/common/temporary_files.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <filesystem>
#include <regex>

#include "tessera/common/log.h"

namespace tessera::common {
namespace fs = std::filesystem;
namespace {

// This host's name, read once.
const std::string& this_host() {
  static const std::string host = [] {
    char buf[HOST_NAME_MAX + 1] = "";
    if (::gethostname(buf, sizeof buf) != 0) return std::string("localhost");
    buf[HOST_NAME_MAX] = '\0';
    return std::string(buf);
  }();
  return host;
}

bool process_exists(long pid) {
  if (pid <= 0 || pid > INT_MAX) return false;
  // EPERM: it exists, owned by someone else.
  return ::kill(pid_t(pid), 0) == 0 || errno != ESRCH;
}

}  // namespace

std::string temporary_name(const std::string& target, const std::string& suffix) {
  static std::atomic<unsigned> counter{0};
  return target + ".tmp." + std::to_string(::getpid()) + "@" + this_host() + "." +
         std::to_string(counter++) + suffix;
}

bool temporary_owner(const std::string& file_name, TemporaryOwner& owner) {
  // ".tmp.<pid>@<host>.<n>" or the older ".tmp.<pid>.<n>", with an optional
  // suffix such as ".wav"; the host may itself hold dots.
  static const std::regex named(R"(\.tmp\.([0-9]+)@(.+)\.[0-9]+(\.[A-Za-z0-9]+)?$)");
  static const std::regex older(R"(\.tmp\.([0-9]+)\.[0-9]+(\.[A-Za-z0-9]+)?$)");
  std::smatch m;
  if (std::regex_search(file_name, m, named)) {
    owner.pid = std::stol(m[1].str());
    owner.host = m[2].str();
    return true;
  }
  if (std::regex_search(file_name, m, older)) {
    owner.pid = std::stol(m[1].str());
    owner.host = this_host();
    return true;
  }
  return false;
}

int remove_orphaned_temporaries(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  int removed = 0;
  for (auto it =
           fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    TemporaryOwner owner;
    if (!temporary_owner(it->path().filename().string(), owner)) continue;
    if (owner.host != this_host() || process_exists(owner.pid)) continue;
    std::error_code rm;
    if (fs::remove(it->path(), rm)) ++removed;
  }
  if (removed > 0) {
    log_info("removed ", removed, removed == 1 ? " temporary file" : " temporary files",
             " left in ", dir, " by processes that no longer run");
  }
  return removed;
}

}  // namespace tessera::common
