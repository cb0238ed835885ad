// After CLI11 refuses an argument it did not expect: for each unknown
// --option of the command that was being parsed, the option it was clearly
// meant to be ("did you mean '--run-dir'?"), by common/near_match.h.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace tessera::app {

// One line per unknown option that has a clear near match; "" if none.
std::string option_suggestions(const CLI::App& app);

}  // namespace tessera::app
