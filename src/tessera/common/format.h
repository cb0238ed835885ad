// printf-style formatting of one number, for reports, tables and messages.
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

}  // namespace tessera::common
