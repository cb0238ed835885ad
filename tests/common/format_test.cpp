// Human output: counts with their noun in the right number, durations as
// people read them (hand-written expectations).
#include "tessera/common/format.h"

#include <cmath>

#include <gtest/gtest.h>

namespace tessera::common {
namespace {

TEST(FormatTest, CountTakesTheSingularForOneOnly) {
  EXPECT_EQ(count_of(0, "file"), "0 files");
  EXPECT_EQ(count_of(1, "file"), "1 file");
  EXPECT_EQ(count_of(2, "file"), "2 files");
  EXPECT_EQ(count_of(1, "index", "indices"), "1 index");
  EXPECT_EQ(count_of(7, "index", "indices"), "7 indices");
}

TEST(FormatTest, DurationsAboveAMinuteAreMinutesAndSeconds) {
  EXPECT_EQ(duration(0), "0.0 s");
  EXPECT_EQ(duration(42.34), "42.3 s");
  EXPECT_EQ(duration(59.94), "59.9 s");
  EXPECT_EQ(duration(59.96), "1:00");  // would print as 60.0 s
  EXPECT_EQ(duration(65), "1:05");
  EXPECT_EQ(duration(605.4), "10:05");
  EXPECT_EQ(duration(3599.6), "1:00:00");
  EXPECT_EQ(duration(7207), "2:00:07");
  EXPECT_EQ(duration(std::nan("")), "0.0 s");
  EXPECT_EQ(duration(-3), "0.0 s");
}

}  // namespace
}  // namespace tessera::common
