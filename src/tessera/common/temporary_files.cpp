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

std::string host_name() {
  char buf[HOST_NAME_MAX + 1] = "";
  if (::gethostname(buf, sizeof buf) != 0) return "localhost";
  buf[HOST_NAME_MAX] = '\0';
  return buf;
}

bool process_exists(long pid) {
  if (pid <= 0 || pid > INT_MAX) return false;
  // EPERM: it exists, owned by someone else.
  return ::kill(pid_t(pid), 0) == 0 || errno != ESRCH;
}

}  // namespace

std::string temporary_name(const std::string& target, const std::string& suffix) {
  static std::atomic<unsigned> counter{0};
  static const std::string host = host_name();
  return target + ".tmp." + std::to_string(::getpid()) + "@" + host + "." +
         std::to_string(counter++) + suffix;
}

bool temporary_owner(const std::string& file_name, TemporaryOwner& owner) {
  // ".tmp.<pid>@<host>.<n>" or the older ".tmp.<pid>.<n>", with an optional
  // suffix such as ".wav"; the host may itself hold dots.
  static const std::regex named(R"(\.tmp\.([0-9]+)@(.+)\.[0-9]+(\.[A-Za-z0-9]+)?$)");
  static const std::regex older(R"(\.tmp\.([0-9]+)\.[0-9]+(\.[A-Za-z0-9]+)?$)");
  static const std::string here = host_name();
  std::smatch m;
  if (std::regex_search(file_name, m, named)) {
    owner.pid = std::stol(m[1].str());
    owner.host = m[2].str();
    return true;
  }
  if (std::regex_search(file_name, m, older)) {
    owner.pid = std::stol(m[1].str());
    owner.host = here;
    return true;
  }
  return false;
}

int remove_orphaned_temporaries(const std::string& dir) {
  static const std::string here = host_name();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  int removed = 0;
  for (auto it =
           fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    TemporaryOwner owner;
    if (!temporary_owner(it->path().filename().string(), owner)) continue;
    if (owner.host != here || process_exists(owner.pid)) continue;
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
