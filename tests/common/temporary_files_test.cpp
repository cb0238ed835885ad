// What a crash leaves: temporaries of dead processes go, those of live
// processes and of other hosts stay.
#include "tessera/common/temporary_files.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace tessera::common {
namespace {

namespace fs = std::filesystem;

std::string this_host() {
  char buf[256] = "";
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// A pid that existed a moment ago and no longer does.
long dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

void touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "x";
}

TEST(TemporaryFilesTest, NamesCarryTheirOwner) {
  TemporaryOwner o;
  ASSERT_TRUE(temporary_owner(fs::path(temporary_name("/r/eval/labels.tsv")).filename(), o));
  EXPECT_EQ(o.pid, long(::getpid()));
  EXPECT_EQ(o.host, this_host());
  ASSERT_TRUE(temporary_owner("clip.wav.tmp.5@node.example.org.2.wav", o));
  EXPECT_EQ(o.pid, 5);
  EXPECT_EQ(o.host, "node.example.org");
  // As Tessera named them before hosts were named: this host's.
  ASSERT_TRUE(temporary_owner("embeddings.tsv.tmp.123.4", o));
  EXPECT_EQ(o.pid, 123);
  EXPECT_EQ(o.host, this_host());
  for (const char* other : {"epoch_0001.pt", "a.tmp", "x.tmp.12", "x.tmp.ab.3"})
    EXPECT_FALSE(temporary_owner(other, o)) << other;
}

TEST(TemporaryFilesTest, OnlyOrphansOfThisHostAreRemoved) {
  const fs::path dir = tessera::testing::fresh_dir();
  const long dead = dead_pid();
  const std::string host = this_host();
  const fs::path orphan = dir / ("eval/epoch_3/embeddings.tsv.tmp." + std::to_string(dead) + ".0");
  const fs::path orphan_named =
      dir / ("checkpoints/epoch_0002.pt.tmp." + std::to_string(dead) + "@" + host + ".7");
  const fs::path live =
      dir / ("metrics/epochs.csv.tmp." + std::to_string(::getpid()) + "@" + host + ".1");
  const fs::path elsewhere =
      dir / ("metrics/x.csv.tmp." + std::to_string(dead) + "@another-host.example.1");
  const fs::path ordinary = dir / "metrics/epochs.csv";
  for (const auto& p : {orphan, orphan_named, live, elsewhere, ordinary}) touch(p);

  EXPECT_EQ(remove_orphaned_temporaries(dir.string()), 2);
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_FALSE(fs::exists(orphan_named));
  EXPECT_TRUE(fs::exists(live)) << "a live process's temporary was removed";
  EXPECT_TRUE(fs::exists(elsewhere)) << "another host's temporary was removed";
  EXPECT_TRUE(fs::exists(ordinary));
  EXPECT_EQ(remove_orphaned_temporaries((dir / "missing").string()), 0);
}

TEST(TemporaryFilesTest, ALiveWritersFileStays) {
  const fs::path dir = tessera::testing::fresh_dir();
  const pid_t writer = ::fork();
  if (writer == 0) {
    ::pause();  // a concurrent cache build, say
    ::_exit(0);
  }
  const fs::path file = dir / ("cache/rec.feat.tmp." + std::to_string(writer) + ".3");
  touch(file);
  EXPECT_EQ(remove_orphaned_temporaries(dir.string()), 0);
  EXPECT_TRUE(fs::exists(file));
  ::kill(writer, SIGKILL);
  ::waitpid(writer, nullptr, 0);
  EXPECT_EQ(remove_orphaned_temporaries(dir.string()), 1);
  EXPECT_FALSE(fs::exists(file));
}

}  // namespace
}  // namespace tessera::common
