#include "tessera/data/music_reader.h"

#include <gtest/gtest.h>

#include <set>

#include "test_util.h"

namespace tessera::data {
namespace {

using tessera::testing::fresh_dir;
using tessera::testing::write_text;

std::string make_music(int per_label) {
  const std::string root = fresh_dir();
  for (const char* label : {"rock", "jazz", "blues"}) {
    std::filesystem::create_directories(root + "/" + label);
    for (int i = 0; i < per_label; ++i)
      write_text(root + "/" + label + "/t" + std::to_string(i) + ".wav", "x");
    write_text(root + "/" + label + "/notes.txt", "not audio");
  }
  return root;
}

TEST(MusicReaderTest, LabelsAreSortedFolderNames) {
  MusicOptions o;
  o.root = make_music(10);
  const Dataset d = read_music(o);
  EXPECT_EQ(d.labels, (std::vector<std::string>{"blues", "jazz", "rock"}));
  // 10 files per label, 20% held out = 2: one to eval, one to test.
  EXPECT_EQ(d.train.recordings.size(), 24u);
  EXPECT_EQ(d.eval.recordings.size(), 3u);
  EXPECT_EQ(d.test.recordings.size(), 3u);
}

TEST(MusicReaderTest, SplitIsDisjointAndSeeded) {
  MusicOptions o;
  o.root = make_music(10);
  const Dataset a = read_music(o), b = read_music(o);
  o.seed = 7;
  const Dataset c = read_music(o);
  std::set<std::string> names;
  for (const Split* s : {&a.train, &a.eval, &a.test}) {
    for (const auto& r : s->recordings) EXPECT_TRUE(names.insert(r.name).second) << r.name;
  }
  EXPECT_EQ(names.size(), 30u);
  auto names_of = [](const Split& s) {
    std::vector<std::string> v;
    for (const auto& r : s.recordings) v.push_back(r.name);
    return v;
  };
  EXPECT_EQ(names_of(a.eval), names_of(b.eval));
  EXPECT_NE(names_of(a.eval), names_of(c.eval));
}

TEST(MusicReaderTest, SavedSplitIsReused) {
  MusicOptions o;
  o.root = make_music(6);
  const Dataset a = read_music(o);
  const std::string path = fresh_dir("split") + "/split.json";
  save_split(a, path);
  const Dataset b = load_split(path, o.root);
  ASSERT_EQ(b.eval.recordings.size(), a.eval.recordings.size());
  for (std::size_t i = 0; i < a.eval.recordings.size(); ++i) {
    EXPECT_EQ(b.eval.recordings[i].name, a.eval.recordings[i].name);
    EXPECT_EQ(b.eval.recordings[i].label, a.eval.recordings[i].label);
  }
  std::filesystem::remove(a.train.recordings[0].path);
  EXPECT_EQ(load_split(path, o.root).skipped.count(), 1u);
}

TEST(MusicReaderTest, FolderOutsideConfiguredLabelsIsAnError) {
  MusicOptions o;
  o.root = make_music(3);
  o.labels = {"rock", "jazz"};
  try {
    read_music(o);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("blues"), std::string::npos);
  }
}

}  // namespace
}  // namespace tessera::data
