// JSON to text without throwing: strings that are not valid UTF-8 (file
// names, values typed on a command line) are written with U+FFFD in place of
// the bad bytes instead of making nlohmann::json throw mid-write.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace tessera::common {

inline std::string dump_json(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tessera::common
