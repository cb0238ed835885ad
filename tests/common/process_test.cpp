// spawn_process / wait_process: the helper the sweep starts its workers
// with and the CLI tests start tessera with. Expected values are what
// /bin/sh prints and returns.
#include "tessera/common/process.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "test_util.h"

namespace tessera::common {
namespace {

using tessera::testing::fresh_dir;
using tessera::testing::read_text;

pid_t shell(const std::string& script, const SpawnOptions& o) {
  return spawn_process({"/bin/sh", "-c", script}, o);
}

TEST(ProcessTest, OutputGoesToTheFileAndTheExitStatusComesBack) {
  const std::string dir = fresh_dir();
  SpawnOptions o;
  o.output_path = dir + "/out.log";
  const ProcessExit e = wait_process(shell("echo to-stdout; echo to-stderr >&2; exit 3", o));
  EXPECT_TRUE(e.finished);
  EXPECT_EQ(e.code, 3);
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(read_text(o.output_path), "to-stdout\nto-stderr\n");
}

TEST(ProcessTest, AppendKeepsWhatTheFileHeldAndTruncateDoesNot) {
  const std::string dir = fresh_dir();
  SpawnOptions o;
  o.output_path = dir + "/out.log";
  tessera::testing::write_text(o.output_path, "before\n");
  o.append = true;
  EXPECT_TRUE(wait_process(shell("echo after", o)).ok());
  EXPECT_EQ(read_text(o.output_path), "before\nafter\n");
  o.append = false;
  EXPECT_TRUE(wait_process(shell("echo only", o)).ok());
  EXPECT_EQ(read_text(o.output_path), "only\n");
}

TEST(ProcessTest, ASignalEndsWith128PlusItsNumber) {
  SpawnOptions o;
  o.output_path = fresh_dir() + "/out.log";
  EXPECT_EQ(wait_process(shell("kill -TERM $$; sleep 5", o)).code, 128 + SIGTERM);
}

// The child sees one value per name: set_env replaces an inherited value
// rather than adding a second entry, and unset_env removes one.
TEST(ProcessTest, TheEnvironmentIsEditedNotDuplicated) {
  ::setenv("TESSERA_PROCESS_TEST_SET", "parent", 1);
  ::setenv("TESSERA_PROCESS_TEST_UNSET", "parent", 1);
  ::setenv("TESSERA_PROCESS_TEST_KEPT", "parent", 1);
  SpawnOptions o;
  o.output_path = fresh_dir() + "/env.log";
  o.set_env = {"TESSERA_PROCESS_TEST_SET=child"};
  o.unset_env = {"TESSERA_PROCESS_TEST_UNSET"};
  EXPECT_TRUE(wait_process(spawn_process({"/usr/bin/env"}, o)).ok());
  const std::string env = read_text(o.output_path);
  EXPECT_NE(env.find("TESSERA_PROCESS_TEST_SET=child\n"), std::string::npos) << env;
  EXPECT_EQ(env.find("TESSERA_PROCESS_TEST_SET=parent"), std::string::npos) << env;
  EXPECT_EQ(env.find("TESSERA_PROCESS_TEST_UNSET"), std::string::npos) << env;
  EXPECT_NE(env.find("TESSERA_PROCESS_TEST_KEPT=parent\n"), std::string::npos) << env;
}

TEST(ProcessTest, ANonBlockingWaitReturnsWhileTheChildRuns) {
  SpawnOptions o;
  o.output_path = fresh_dir() + "/out.log";
  const pid_t pid = shell("sleep 60", o);
  EXPECT_FALSE(wait_process(pid, false).finished);
  ::kill(pid, SIGKILL);
  const ProcessExit e = wait_process(pid);
  EXPECT_TRUE(e.finished);
  EXPECT_EQ(e.code, 128 + SIGKILL);
}

TEST(ProcessTest, AProgramThatCannotStartIsNamed) {
  const std::string missing = fresh_dir() + "/no-such-program";
  try {
    spawn_process({missing});
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  EXPECT_THROW(spawn_process({}), std::invalid_argument);
  SpawnOptions bad;
  bad.set_env = {"NO_EQUALS_SIGN"};
  EXPECT_THROW(spawn_process({"/bin/true"}, bad), std::invalid_argument);
}

TEST(ProcessTest, SelfExecutableIsThisTestBinary) {
  EXPECT_EQ(std::filesystem::path(self_executable()).filename(), "common_process_test");
}

}  // namespace
}  // namespace tessera::common
