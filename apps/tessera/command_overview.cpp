#include "command_overview.h"

#include <algorithm>

namespace tessera::app {

std::string command_overview(const CLI::App& app) {
  const auto commands = app.get_subcommands([](const CLI::App*) { return true; });
  std::size_t width = 0;
  for (const CLI::App* c : commands) width = std::max(width, c->get_name().size());
  std::string out =
      "usage: tessera <command> [options]\n\n" + app.get_description() + "\n\ncommands:\n";
  for (const CLI::App* c : commands) {
    out += "  " + c->get_name() + std::string(width - c->get_name().size() + 3, ' ') +
           c->get_description() + "\n";
  }
  out +=
      "\n'tessera <command> --help' (or 'tessera help <command>') lists a command's options;\n"
      "'tessera --version' the LibTorch, CPU libraries and GPUs it runs on.\n";
  return out;
}

}  // namespace tessera::app
