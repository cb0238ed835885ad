// TFRecord framing as TensorFlow documents it (length, masked CRC of the
// length, data, masked CRC of the data), read back here field by field, and
// the writer's flushing: nothing before the interval unless asked, all of it
// on destruction.
#include "tessera/tensorboard/record_writer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tensorboard/records.h"
#include "tessera/tensorboard/crc32c.h"
#include "test_util.h"

namespace tessera::tensorboard {
namespace {

using testing::read_records;

TEST(RecordWriterTest, FramesEachRecordWithLengthAndMaskedCrcs) {
  const std::string framed = frame_record("abc");
  ASSERT_EQ(framed.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(testing::little_endian(framed, 0, 8), 3u);
  EXPECT_EQ(testing::little_endian(framed, 8, 4), masked_crc32c(framed.data(), 8));
  EXPECT_EQ(framed.substr(12, 3), "abc");
  EXPECT_EQ(testing::little_endian(framed, 15, 4), masked_crc32c("abc", 3));
  EXPECT_EQ(frame_record("").size(), 16u);
}

TEST(RecordWriterTest, WritesOutOnFlushAndOnDestructionOnly) {
  const std::string path = tessera::testing::fresh_dir() + "/records";
  {
    RecordWriterOptions o;
    o.flush_seconds = 1e6;
    RecordWriter w(path, o);
    w.write("first");
    w.write(std::string(1000, 'x'));
    EXPECT_EQ(std::filesystem::file_size(path), 0u);
    w.flush();
    EXPECT_EQ(read_records(testing::read_bytes(path)),
              (std::vector<std::string>{"first", std::string(1000, 'x')}));
    w.write("last");
  }
  EXPECT_EQ(read_records(testing::read_bytes(path)).back(), "last");
  RecordWriterOptions now;
  now.flush_seconds = 0;
  const std::string path2 = path + "2";
  RecordWriter w(path2, now);
  w.write("at once");
  EXPECT_EQ(read_records(testing::read_bytes(path2)), std::vector<std::string>{"at once"});
}

// A stalled writer's records still reach the file, by the background
// thread, within about flush_seconds (waited for here up to 10 s).
TEST(RecordWriterTest, BackgroundThreadWritesOutWithoutFurtherCalls) {
  const std::string path = tessera::testing::fresh_dir() + "/records";
  RecordWriterOptions o;
  o.flush_seconds = 0.05;
  RecordWriter w(path, o);
  w.write("quiet after this");
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::filesystem::file_size(path) == 0 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(read_records(testing::read_bytes(path)), std::vector<std::string>{"quiet after this"});
}

// A reader stops at a torn record and keeps the whole ones before it.
TEST(RecordWriterTest, TornTailLeavesTheWholeRecordsReadable) {
  const std::string bytes = frame_record("one") + frame_record("two") + frame_record("three");
  EXPECT_EQ(read_records(bytes.substr(0, bytes.size() - 3)),
            (std::vector<std::string>{"one", "two"}));
}

TEST(RecordWriterTest, ExistingFileIsRefusedNamingIt) {
  const std::string path = tessera::testing::fresh_dir() + "/taken";
  std::ofstream(path) << "keep me";
  try {
    RecordWriter w(path, {});
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_EQ(testing::read_bytes(path), "keep me");
  RecordWriterOptions bad;
  bad.flush_seconds = -1;
  EXPECT_THROW(RecordWriter(path + "x", bad), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::tensorboard
