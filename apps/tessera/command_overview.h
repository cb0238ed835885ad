// What bare `tessera` and `tessera help` print: one line per command, as
// git and cmake do, and where to read more.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace tessera::app {

std::string command_overview(const CLI::App& app);

}  // namespace tessera::app
