// Event files read back record by record and parsed with the same schema
// (tensorboard.proto): the file name TensorBoard globs for, the version
// record first, then scalars, images, text and restarts with their steps.
// TensorBoard's own reader checks the files of a real run in
// tests/apps/cli_tensorboard_test.cpp.
#include "tessera/tensorboard/event_writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tensorboard/records.h"
#include "tessera/tensorboard/tensorboard.pb.h"
#include "test_util.h"

namespace tessera::tensorboard {
namespace {

std::vector<pb::Event> read_events(const std::string& path) {
  std::vector<pb::Event> out;
  for (const std::string& r : testing::read_records(testing::read_bytes(path))) {
    pb::Event e;
    EXPECT_TRUE(e.ParseFromString(r));
    out.push_back(e);
  }
  return out;
}

TEST(EventWriterTest, WritesVersionScalarsImagesTextAndRestarts) {
  const std::string dir = tessera::testing::fresh_dir() + "/logdir";
  std::string path;
  {
    EventWriter w(dir, {});
    path = w.path();
    w.scalar("train/loss", 1, 0.25);
    w.scalar("train/loss", 2, 1e-3);
    w.image("eval/m", 2, heat_map({0, 1, 1, 0}, 2, 2, 3));
    w.text("config", 0, "# hello");
    w.session_start(2);
  }
  const std::string name = std::filesystem::path(path).filename().string();
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u) << name;
  EXPECT_EQ(std::filesystem::path(path).parent_path(), std::filesystem::path(dir));

  const auto events = read_events(path);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_GT(events[0].wall_time(), 1.6e9);  // seconds since 1970, after 2020
  EXPECT_EQ(events[1].step(), 1);
  ASSERT_EQ(events[1].summary().value_size(), 1);
  EXPECT_EQ(events[1].summary().value(0).tag(), "train/loss");
  EXPECT_EQ(events[1].summary().value(0).simple_value(), 0.25f);
  EXPECT_EQ(events[2].summary().value(0).simple_value(), 1e-3f);
  const auto& im = events[3].summary().value(0).image();
  EXPECT_EQ(events[3].step(), 2);
  EXPECT_EQ(im.width(), 6);
  EXPECT_EQ(im.height(), 6);
  EXPECT_EQ(im.colorspace(), 3);
  EXPECT_EQ(im.encoded_image_string().substr(1, 3), "PNG");
  const auto& text = events[4].summary().value(0);
  EXPECT_EQ(text.tag(), "config");
  EXPECT_EQ(text.metadata().plugin_data().plugin_name(), "text");
  EXPECT_EQ(text.tensor().dtype(), pb::DT_STRING);
  EXPECT_EQ(text.tensor().tensor_shape().dim_size(), 0);
  ASSERT_EQ(text.tensor().string_val_size(), 1);
  EXPECT_EQ(text.tensor().string_val(0), "# hello");
  EXPECT_EQ(events[5].session_log().status(), pb::SessionLog::START);
  EXPECT_EQ(events[5].step(), 2);
}

// A second writer in the same directory (a resumed run) starts a file of its
// own, even within the same second, and leaves the first one as it was.
TEST(EventWriterTest, EachWriterStartsItsOwnFile) {
  const std::string dir = tessera::testing::fresh_dir() + "/logdir";
  std::string first, second;
  {
    EventWriter a(dir, {});
    a.scalar("x", 1, 1);
    first = a.path();
  }
  const std::string before = testing::read_bytes(first);
  {
    EventWriter b(dir, {});
    second = b.path();
  }
  EXPECT_NE(first, second);
  EXPECT_EQ(testing::read_bytes(first), before);
  EXPECT_EQ(read_events(second).size(), 1u);
}

}  // namespace
}  // namespace tessera::tensorboard
