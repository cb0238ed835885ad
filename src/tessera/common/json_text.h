// JSON to text without throwing: strings that are not valid UTF-8 (file
// names, values typed on a command line) are written with U+FFFD in place of
// the bad bytes instead of making nlohmann::json throw mid-write.
#pragma once

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

namespace tessera::common {

inline std::string dump_json(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A number as JSON, or null when it is not finite: an undefined metric
// reads as null, never as a number (nlohmann would write NaN as null anyway,
// but silently).
inline nlohmann::json finite_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

}  // namespace tessera::common
