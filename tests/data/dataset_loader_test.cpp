// load_dataset with a run's split file: the music layout's split is written
// on first use and read back afterwards, whatever the folder became.
#include "tessera/data/dataset_loader.h"

#include <gtest/gtest.h>

#include "tessera/common/atomic_file.h"
#include "test_util.h"

namespace tessera::data {
namespace {

using tessera::testing::fresh_dir;
using tessera::testing::write_text;

void add_files(const std::string& root, int from, int to) {
  for (const char* label : {"rock", "jazz", "blues"}) {
    std::filesystem::create_directories(root + "/" + label);
    for (int i = from; i < to; ++i)
      write_text(root + "/" + label + "/t" + std::to_string(i) + ".wav", "x");
  }
}

std::vector<std::string> names(const Split& s) {
  std::vector<std::string> v;
  for (const auto& r : s.recordings) v.push_back(r.name);
  return v;
}

TEST(DatasetLoaderTest, MusicSplitIsWrittenOnceAndReusedAfterTheFolderChanges) {
  const std::string root = fresh_dir("music"), run = fresh_dir("run");
  add_files(root, 0, 10);
  DatasetSource c;
  c.layout = Layout::kMusic;
  c.music.root = root;
  const std::string split = run + "/split.json";
  const Dataset a = load_dataset(c, split);
  ASSERT_TRUE(std::filesystem::exists(split));
  const std::string written = common::read_file(split);
  for (const Split* s : {&a.train, &a.eval, &a.test})
    for (const auto& r : s->recordings)
      EXPECT_NE(written.find(r.name), std::string::npos) << r.name << " missing from the split";

  // The folder changes (ten more files per genre) and so does the seed,
  // which alone would split differently: the run keeps its files.
  add_files(root, 10, 20);
  c.music.seed = 7;
  const Dataset b = load_dataset(c, split);
  EXPECT_EQ(names(b.train), names(a.train));
  EXPECT_EQ(names(b.eval), names(a.eval));
  EXPECT_EQ(names(b.test), names(a.test));
  EXPECT_EQ(common::read_file(split), written) << "the split was rewritten";

  // Without a split file the folder is read afresh: the new files are there.
  const Dataset fresh = load_dataset(c, "");
  EXPECT_EQ(
      fresh.train.recordings.size() + fresh.eval.recordings.size() + fresh.test.recordings.size(),
      60u);
}

}  // namespace
}  // namespace tessera::data
