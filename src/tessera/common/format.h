// Formatting for people: one number printf-style, a count with its noun in
// the right number, a duration.
#pragma once

#include <cstdio>
#include <string>

namespace tessera::common {

// format_number(0.3, "%g") == "0.3"; the default keeps four significant digits.
inline std::string format_number(double v, const char* format = "%.4g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// count_of(1, "file") == "1 file", count_of(3, "file") == "3 files";
// irregular plurals are given: count_of(2, "index", "indices").
inline std::string count_of(long long n, const std::string& noun, const std::string& plural = "") {
  return std::to_string(n) + " " + (n == 1 ? noun : plural.empty() ? noun + "s" : plural);
}

// Seconds as people read them: "42.3 s" below a minute, "m:ss" from one
// minute ("1:05"), "h:mm:ss" from an hour ("2:00:07"); rounded to whole
// seconds from a minute on.
inline std::string duration(double seconds) {
  char buf[64];
  if (!(seconds >= 0)) seconds = 0;
  if (seconds < 59.95) {
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
    return buf;
  }
  const long long whole = (long long)(seconds + 0.5);
  const long long h = whole / 3600, m = whole / 60 % 60, sec = whole % 60;
  if (h > 0)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", h, m, sec);
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", m, sec);
  return buf;
}

}  // namespace tessera::common
