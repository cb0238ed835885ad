#include "option_suggestions.h"

#include <vector>

#include "tessera/common/near_match.h"

namespace tessera::app {
namespace {

void collect(const CLI::App& cmd, std::string& out) {
  for (const CLI::App* sub : cmd.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->parsed()) collect(*sub, out);
  }
  std::vector<std::string> names;
  for (const CLI::Option* o : cmd.get_options()) {
    for (const auto& l : o->get_lnames()) names.push_back("--" + l);
  }
  for (const std::string& arg : cmd.remaining()) {
    if (arg.rfind("--", 0) != 0) continue;
    const std::string name = arg.substr(0, arg.find('='));
    const std::string hint = common::did_you_mean(name, names);
    if (!hint.empty()) out += "unknown option '" + name + "'" + hint + "\n";
  }
}

}  // namespace

std::string option_suggestions(const CLI::App& app) {
  std::string out;
  collect(app, out);
  return out;
}

}  // namespace tessera::app
