// write_file_atomic: a write that fails part-way leaves the previous file
// whole and no temporary behind.
#include "tessera/common/atomic_file.h"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <csignal>
#include <filesystem>

#include "test_util.h"

namespace tessera::common {
namespace {

int files_in(const std::string& dir) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) (void)e, ++n;
  return n;
}

// A file-size limit (RLIMIT_FSIZE) makes the write of the new content fail
// after its first 1 KiB, as a full disk would, even for root. The same path
// then still holds the old content, and the temporary is gone.
TEST(AtomicFileTest, FailedWriteKeepsTheOldFileAndLeavesNoTemporary) {
  const std::string dir = tessera::testing::fresh_dir();
  const std::string path = dir + "/f.txt";
  write_file_atomic(path, "old");
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit small = saved;
  small.rlim_cur = 1024;
  // Past the limit the kernel sends SIGXFSZ, which would end the test; ignored,
  // write() fails with EFBIG instead.
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string error;
  try {
    write_file_atomic(path, std::string(64 * 1024, 'n'));
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(error.find(path), std::string::npos) << "the error names the file: " << error;
  EXPECT_NE(error.find("write failed"), std::string::npos) << error;
  EXPECT_EQ(read_file(path), "old");
  EXPECT_EQ(files_in(dir), 1) << "a temporary was left behind";
}

TEST(AtomicFileTest, MissingDirectoryIsAClearErrorAndWritesNothing) {
  const std::string dir = tessera::testing::fresh_dir();
  try {
    write_file_atomic(dir + "/missing/f.txt", "new");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/missing/f.txt"), std::string::npos) << e.what();
  }
  EXPECT_EQ(files_in(dir), 0);
}

TEST(AtomicFileTest, ReplacesTheContentWhole) {
  const std::string dir = tessera::testing::fresh_dir();
  write_file_atomic(dir + "/f.txt", "old content, longer");
  write_file_atomic(dir + "/f.txt", "new");
  EXPECT_EQ(read_file(dir + "/f.txt"), "new");
  EXPECT_EQ(files_in(dir), 1);
}

}  // namespace
}  // namespace tessera::common
