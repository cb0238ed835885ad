// Levelled logging to stderr. Lines carry a level tag so logs grep well;
// a distributed run raises the level of non-zero ranks to warnings.
#pragma once

#include <sstream>
#include <string>

namespace tessera::common {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void set_log_level(LogLevel level);
// Parses debug|info|warning|error (any case); throws std::invalid_argument.
LogLevel parse_log_level(const std::string& name);
LogLevel log_level();
void log_line(LogLevel level, const std::string& message);

template <typename... Args>
void log_at(LogLevel level, const Args&... args) {
  if (level < log_level()) return;
  std::ostringstream s;
  (s << ... << args);
  log_line(level, s.str());
}
template <typename... Args>
void log_info(const Args&... args) {
  log_at(LogLevel::kInfo, args...);
}
template <typename... Args>
void log_warning(const Args&... args) {
  log_at(LogLevel::kWarning, args...);
}
template <typename... Args>
void log_debug(const Args&... args) {
  log_at(LogLevel::kDebug, args...);
}

}  // namespace tessera::common
