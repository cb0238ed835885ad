// The metrics CSV (common/csv_log.h) on its own: one header however often a
// run reopens it, values that read back exactly, and the truncation a resume
// applies so that the file equals an uninterrupted run's.
#include "tessera/common/csv_log.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace tessera::common {
namespace {

using tessera::testing::fresh_dir;
using tessera::testing::read_text;

TEST(CsvLogTest, ReopeningAppendsUnderOneHeader) {
  const std::string path = fresh_dir() + "/epochs.csv";
  { CsvLog(path, {"epoch", "loss"}).row({1, 0.5}); }
  { CsvLog(path, {"epoch", "loss"}).row({2, 0.25}); }
  EXPECT_EQ(read_text(path), "epoch,loss\n1,0.5\n2,0.25\n");
  std::vector<std::string> header;
  const auto rows = CsvLog::read(path, &header);
  EXPECT_EQ(header, (std::vector<std::string>{"epoch", "loss"}));
  EXPECT_EQ(rows, (std::vector<std::vector<double>>{{1, 0.5}, {2, 0.25}}));
}

// %.9g: a float's value survives the text, and step numbers stay integers.
TEST(CsvLogTest, FloatValuesAndLargeStepsReadBackExactly) {
  const std::string path = fresh_dir() + "/steps.csv";
  const double loss = double(0.1f), step = 123456789;
  { CsvLog(path, {"step", "loss"}).row({step, loss}); }
  const auto rows = CsvLog::read(path);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], step);
  EXPECT_EQ(float(rows[0][1]), 0.1f);
}

TEST(CsvLogTest, ARowOfTheWrongWidthIsRefused) {
  const std::string path = fresh_dir() + "/epochs.csv";
  CsvLog log(path, {"epoch", "loss"});
  EXPECT_THROW(log.row({1}), std::logic_error);
  EXPECT_EQ(read_text(path), "epoch,loss\n");
}

// A run stopped after epoch 3 but checkpointed at epoch 2 resumes from 2:
// rows past the checkpoint go, the rest and the header stay.
TEST(CsvLogTest, TruncateKeepsTheRowsUpToTheCheckpoint) {
  const std::string path = fresh_dir() + "/epochs.csv";
  {
    CsvLog log(path, {"epoch", "loss"});
    for (int e = 1; e <= 3; ++e) log.row({double(e), 1.0 / e});
  }
  CsvLog::truncate(path, 2);
  EXPECT_EQ(read_text(path), "epoch,loss\n1,1\n2,0.5\n");
}

}  // namespace
}  // namespace tessera::common
