#include "tessera/common/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

extern char** environ;

namespace tessera::common {
namespace {

std::string env_name(const std::string& entry) {
  return entry.substr(0, entry.find('='));
}

bool listed(const std::vector<std::string>& names, const std::string& name) {
  for (const auto& n : names)
    if (n == name) return true;
  return false;
}

// This process's environment without the removed names and without the
// names that set_env replaces, then set_env.
std::vector<std::string> child_environment(const SpawnOptions& o) {
  std::vector<std::string> replaced = o.unset_env;
  for (const auto& e : o.set_env) replaced.push_back(env_name(e));
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (!listed(replaced, env_name(*e))) env.emplace_back(*e);
  env.insert(env.end(), o.set_env.begin(), o.set_env.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

void SpawnOptions::validate() const {
  for (const auto& e : set_env) {
    if (e.find('=') == std::string::npos || e.front() == '=')
      throw std::invalid_argument("spawn: environment entry '" + e + "' is not NAME=value");
  }
  for (const auto& n : unset_env) {
    if (n.empty() || n.find('=') != std::string::npos)
      throw std::invalid_argument("spawn: '" + n + "' is not a variable name");
  }
}

pid_t spawn_process(const std::vector<std::string>& argv_in, const SpawnOptions& o) {
  o.validate();
  if (argv_in.empty()) throw std::invalid_argument("spawn: no program given");
  std::vector<std::string> args = argv_in;
  std::vector<std::string> env = child_environment(o);
  std::vector<char*> argv = c_strings(args);
  std::vector<char*> envp = c_strings(env);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (!o.output_path.empty()) {
    const int flags = O_WRONLY | O_CREAT | (o.append ? O_APPEND : O_TRUNC);
    posix_spawn_file_actions_addopen(&fa, 1, o.output_path.c_str(), flags, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  }
  pid_t pid = -1;
  const int err = posix_spawn(&pid, args[0].c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) throw std::runtime_error("cannot start '" + args[0] + "': " + std::strerror(err));
  return pid;
}

ProcessExit wait_process(pid_t pid, bool block) {
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r < 0)
    throw std::runtime_error("wait for process " + std::to_string(pid) +
                             " failed: " + std::strerror(errno));
  ProcessExit e;
  if (r == 0) return e;
  e.finished = true;
  e.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return e;
}

std::string self_executable() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find this program's executable: " + ec.message());
  return p.string();
}

}  // namespace tessera::common
