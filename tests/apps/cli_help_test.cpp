// The first minute at the command line: bare `tessera`, `tessera help`,
// `tessera help <command>`, `tessera --version` and tessera's own options.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "test_util.h"

namespace tessera {
namespace {

using namespace tessera::testing;

const char* const kCommands[] = {"synth",  "dataset-info", "features", "cache", "train",
                                 "sweep",  "report",       "classify", "embed", "neighbours",
                                 "export", "bench",        "help"};

// The line of the overview that starts with "  <name> ".
std::string line_of(const std::string& text, const std::string& name) {
  const auto at = text.find("\n  " + name + " ");
  if (at == std::string::npos) return "";
  return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

TEST(CliHelpTest, BareTesseraListsEveryCommandAndFails) {
  const auto r = run_tessera("");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.output.find("A subcommand is required"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("usage: tessera <command>"), std::string::npos) << r.output;
  for (const char* c : kCommands) {
    const std::string line = line_of(r.output, c);
    // Each command on a line of its own, with its description after it.
    EXPECT_GT(line.size(), std::string(c).size() + 10) << c << " in\n" << r.output;
  }
  EXPECT_NE(line_of(r.output, "train").find("train one embedding space"), std::string::npos)
      << r.output;
}

TEST(CliHelpTest, HelpListsTheCommandsAndSucceeds) {
  const auto bare = run_tessera(""), help = run_tessera("help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_EQ(help.output, bare.output);
}

TEST(CliHelpTest, HelpOfACommandIsItsOptions) {
  const auto r = run_tessera("help train");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("--run-dir"), std::string::npos) << r.output;
  // The same text as `train --help`, whose usage line names the binary's path.
  std::string direct = run_tessera("train --help").output;
  const auto at = direct.find(TESSERA_BINARY);
  ASSERT_NE(at, std::string::npos) << direct;
  direct.replace(at, std::string(TESSERA_BINARY).size(), "tessera");
  EXPECT_EQ(r.output, direct);
  const auto bad = run_tessera("help trian");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("no command 'trian'"), std::string::npos) << bad.output;
}

TEST(CliHelpTest, UnknownOptionSuggestsTheNearOne) {
  const auto r =
      run_tessera("train -c " + std::string(TESSERA_SOURCE_DIR) + "/configs/demo.json --run-dr x");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("unknown option '--run-dr' (did you mean '--run-dir'?)"),
            std::string::npos)
      << r.output;
  const auto far =
      run_tessera("train -c " + std::string(TESSERA_SOURCE_DIR) + "/configs/demo.json --zzzzzz");
  EXPECT_NE(far.exit_code, 0);
  EXPECT_EQ(far.output.find("did you mean"), std::string::npos) << far.output;
  // A config key through --set gets the same help.
  const auto key = run_tessera("train -c " + std::string(TESSERA_SOURCE_DIR) +
                               "/configs/demo.json --set epoch=3 --run-dir x");
  EXPECT_NE(key.output.find("unknown config key 'epoch' (did you mean 'epochs'?)"),
            std::string::npos)
      << key.output;
}

// The allocator policy is an option of tessera itself, before the command.
TEST(CliHelpTest, MallocPolicyIsAnOptionBeforeTheCommand) {
  for (const char* policy : {"retain", "glibc"}) {
    const auto r = run_tessera(std::string("--malloc ") + policy + " help train");
    EXPECT_EQ(r.exit_code, 0) << policy << "\n" << r.output;
    EXPECT_NE(r.output.find("--kernels"), std::string::npos) << r.output;
  }
  const auto bad = run_tessera("--malloc default help");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("retain"), std::string::npos) << bad.output;
}

TEST(CliHelpTest, VersionNamesLibTorchItsCpuLibrariesAndCuda) {
  const auto r = run_tessera("--version");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("tessera 0."), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("LibTorch " TESSERA_TORCH_VERSION), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("BLAS: Intel(R) oneAPI Math Kernel Library"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("oneDNN: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("CPU kernels: "), std::string::npos) << r.output;
  // Either verdict, but one of them, with its reason or its devices.
  const bool yes = r.output.find("CUDA: available, ") != std::string::npos;
  const bool no = r.output.find("CUDA: not available (") != std::string::npos;
  EXPECT_TRUE(yes != no) << r.output;
  if (yes) {
    EXPECT_NE(r.output.find("cuda:0 "), std::string::npos) << r.output;
  }
}

// The long options of one command's --help ("  -c,--config TEXT ...").
std::set<std::string> help_options(const std::string& command) {
  const auto r = run_tessera(command + " --help");
  EXPECT_EQ(r.exit_code, 0) << command << r.output;
  std::set<std::string> out;
  std::istringstream in(r.output);
  std::string line;
  const std::regex option(R"(^\s+((?:-\w,)?--[a-z][a-z0-9-]*)(?:[ ,]|$))");
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, option)) continue;
    const std::string names = m[1];
    out.insert(names.substr(names.find("--")));
  }
  out.erase("--help");
  return out;
}

// README's command table lists every option each command's --help prints,
// and nothing else: the table is where a user looks first. (`bench`'s
// subcommands are documented with their scripts in bench/.)
TEST(CliHelpTest, ReadmeTableListsEveryOptionOfEveryCommand) {
  std::istringstream readme(read_text(std::string(TESSERA_SOURCE_DIR) + "/README.md"));
  const std::regex row(R"(^\| `tessera ([a-z-]+(?: build)?)(.*?)` \|)");
  const std::regex long_option(R"((?:^|[^\w-])(--[a-z][a-z0-9-]*))");
  std::string line;
  int rows = 0;
  while (std::getline(readme, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, row)) continue;
    const std::string command = m[1], usage = m[2];
    if (command == "bench") continue;
    ++rows;
    std::set<std::string> documented;
    for (std::sregex_iterator it(usage.begin(), usage.end(), long_option), end; it != end; ++it)
      documented.insert((*it)[1]);
    const std::set<std::string> actual = help_options(command);
    for (const auto& o : actual)
      EXPECT_TRUE(documented.count(o)) << "README's row of '" << command << "' lacks " << o;
    for (const auto& o : documented)
      EXPECT_TRUE(actual.count(o))
          << "README's row of '" << command << "' lists " << o << ", which --help does not";
  }
  // Every command but help and bench has its row.
  EXPECT_EQ(rows, 10);
}

}  // namespace
}  // namespace tessera
