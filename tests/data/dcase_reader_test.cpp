#include "tessera/data/dcase_reader.h"

#include <gtest/gtest.h>

#include "tessera/data/dataset_loader.h"
#include "test_util.h"

namespace tessera::data {
namespace {

using tessera::testing::fresh_dir;
using tessera::testing::write_text;

// A DCASE layout with empty placeholder audio files (the reader only checks
// that listed files exist; decoding happens later).
std::string make_layout(const std::string& train, const std::string& evaluate,
                        const std::vector<std::string>& files) {
  const std::string root = fresh_dir();
  std::filesystem::create_directories(root + "/audio");
  std::filesystem::create_directories(root + "/evaluation_setup");
  for (const auto& f : files) write_text(root + "/" + f, "x");
  write_text(root + "/evaluation_setup/fold1_train.txt", train);
  write_text(root + "/evaluation_setup/fold1_evaluate.txt", evaluate);
  return root;
}

TEST(DcaseReaderTest, ReadsFoldListsWithLabelsAndSessions) {
  const std::string root =
      make_layout("audio/a.wav\tcooking\ts1\naudio/b.wav\tworking\ts2\n\n",
                  "audio/c.wav\tabsence\n", {"audio/a.wav", "audio/b.wav", "audio/c.wav"});
  DcaseOptions o;
  o.root = root;
  const Dataset d = read_dcase(o);
  ASSERT_EQ(d.labels.size(), 9u);
  ASSERT_EQ(d.train.recordings.size(), 2u);
  EXPECT_EQ(d.train.recordings[0].label, 1);  // cooking is the 2nd DCASE label
  EXPECT_EQ(d.train.recordings[0].session, "s1");
  EXPECT_EQ(d.train.recordings[1].label, 8);  // working is the 9th
  EXPECT_EQ(d.eval.recordings.at(0).label, 0);
  EXPECT_EQ(d.eval.recordings[0].path, root + "/audio/c.wav");
  EXPECT_TRUE(d.test.recordings.empty());
  EXPECT_EQ(d.skipped.count(), 0u);
}

TEST(DcaseReaderTest, MissingFilesAreSkippedAndCounted) {
  const std::string root = make_layout("audio/a.wav\tcooking\ts1\naudio/gone.wav\tcooking\ts1\n",
                                       "audio/gone2.wav\tabsence\n", {"audio/a.wav"});
  DcaseOptions o;
  o.root = root;
  const Dataset d = read_dcase(o);
  EXPECT_EQ(d.train.recordings.size(), 1u);
  EXPECT_EQ(d.skipped.count(), 2u);
  EXPECT_NE(d.skipped.summary().find("audio/gone.wav"), std::string::npos);
  EXPECT_NE(d.skipped.summary().find("missing"), std::string::npos);
}

TEST(DcaseReaderTest, UnknownLabelNamesFileAndLine) {
  const std::string root =
      make_layout("audio/a.wav\tcooking\ts1\naudio/a.wav\tjuggling\ts1\n", "", {"audio/a.wav"});
  DcaseOptions o;
  o.root = root;
  try {
    read_dcase(o);
    FAIL();
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("fold1_train.txt' line 2"), std::string::npos) << m;
    EXPECT_NE(m.find("unknown label 'juggling'"), std::string::npos) << m;
  }
}

TEST(DcaseReaderTest, MalformedLineNamesFileAndLine) {
  const std::string root = make_layout("audio/a.wav\n", "", {"audio/a.wav"});
  DcaseOptions o;
  o.root = root;
  try {
    read_dcase(o);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("line 1: expected 'file<TAB>label'"), std::string::npos)
        << e.what();
  }
}

TEST(DcaseReaderTest, GivenLabelsReplaceDefaults) {
  const std::string root = make_layout("audio/a.wav\tdog\n", "audio/a.wav\tcat\n", {"audio/a.wav"});
  DatasetSource source;
  source.dcase.root = root;
  source.dcase.labels = {"cat", "dog"};
  const Dataset d = load_dataset(source);
  EXPECT_EQ(d.train.recordings.at(0).label, 1);
  EXPECT_EQ(d.eval.recordings.at(0).label, 0);
}

TEST(DcaseReaderTest, EvaluationSetBecomesTestSplit) {
  const std::string root = make_layout("audio/a.wav\tcooking\n", "", {"audio/a.wav"});
  const std::string eval_root = fresh_dir("eval");
  std::filesystem::create_directories(eval_root + "/audio");
  write_text(eval_root + "/audio/e.wav", "x");
  write_text(eval_root + "/evaluate.txt", "audio/e.wav\teating\n");
  DcaseOptions o;
  o.root = root;
  o.eval_root = eval_root;
  const Dataset d = read_dcase(o);
  ASSERT_EQ(d.test.recordings.size(), 1u);
  EXPECT_EQ(d.test.recordings[0].label, 3);
}

TEST(DcaseReaderTest, MissingFoldListIsAnError) {
  DcaseOptions o;
  o.root = fresh_dir();
  EXPECT_THROW(read_dcase(o), std::runtime_error);
}

}  // namespace
}  // namespace tessera::data
