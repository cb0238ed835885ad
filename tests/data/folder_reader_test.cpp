// The unlabelled folder reader on a constructed tree: what it lists, in
// which order, and its errors.
#include "tessera/data/folder_reader.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"

namespace tessera::data {
namespace {

TEST(FolderReaderTest, ListsEveryAudioFileUnderTheRootInSortedOrder) {
  const std::string root = tessera::testing::fresh_dir("folder_reader");
  std::filesystem::create_directories(root + "/b/deep");
  std::filesystem::create_directories(root + "/a");
  for (const char* f : {"b/deep/z.WAV", "a/y.flac", "x.ogg", "b/w.mp3", "notes.txt", "a/cover.jpg"})
    tessera::testing::write_text(root + "/" + f, "bytes");
  const FolderListing l = read_folder(root);
  std::vector<std::string> names;
  for (const auto& r : l.recordings) {
    names.push_back(r.name);
    EXPECT_EQ(r.label, -1);
    EXPECT_TRUE(std::filesystem::exists(r.path)) << r.path;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a/y.flac", "b/deep/z.WAV", "b/w.mp3", "x.ogg"}));
  EXPECT_EQ(l.other_files, 2u);
}

TEST(FolderReaderTest, NamesTheFolderWhenItIsMissingOrHoldsNoAudio) {
  const std::string root = tessera::testing::fresh_dir("folder_reader_empty");
  tessera::testing::write_text(root + "/readme.txt", "no audio here");
  try {
    read_folder(root);
    FAIL() << "an empty folder was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(root), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no audio file"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_folder(root + "/missing"), std::runtime_error);
  EXPECT_THROW(read_folder(""), std::runtime_error);
  EXPECT_TRUE(is_audio_file("x.Flac"));
  EXPECT_FALSE(is_audio_file("x.wav.txt"));
}

}  // namespace
}  // namespace tessera::data
