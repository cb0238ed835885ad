// "Did you mean": edit distances against hand-counted values, and the rule
// that only a clear, unique match is suggested.
#include "tessera/common/near_match.h"

#include <gtest/gtest.h>

namespace tessera::common {
namespace {

TEST(NearMatchTest, EditDistanceCountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(edit_distance("", ""), 0);
  EXPECT_EQ(edit_distance("epoch", "epochs"), 1);  // one insertion
  EXPECT_EQ(edit_distance("lerning_rate", "learning_rate"), 1);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3);  // the textbook case
  EXPECT_EQ(edit_distance("marign", "margin"), 1);   // one transposition
  EXPECT_EQ(edit_distance("abc", ""), 3);
}

TEST(NearMatchTest, SuggestsOnlyAClearUniqueMatch) {
  const std::vector<std::string> keys = {"epochs", "batch_size", "margin", "margins"};
  EXPECT_EQ(near_match("epoch", keys), "epochs");
  EXPECT_EQ(did_you_mean("epoch", keys), " (did you mean 'epochs'?)");
  EXPECT_EQ(near_match("batch", keys), "");  // 5 edits away: not clear
  EXPECT_EQ(near_match("zzz", keys), "");
  EXPECT_EQ(near_match("margin", keys), "");  // exact: nothing to suggest
  EXPECT_EQ(near_match("margis", keys), "");  // 1 from margin and from margins: a tie
  EXPECT_EQ(did_you_mean("zzz", keys), "");
}

}  // namespace
}  // namespace tessera::common
