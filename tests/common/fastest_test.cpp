#include "tessera/common/fastest.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace tessera::common {
namespace {

// A fake clock: each call of a way advances it by that way's cost in the
// current call, from a fixed schedule (cost[way][call]), and records the
// order of the calls.
struct FakeMachine {
  std::vector<std::vector<double>> cost;
  std::vector<int> calls;  // the way of each call, in order
  std::vector<int> count;  // calls so far, per way
  double now = 0;

  explicit FakeMachine(std::vector<std::vector<double>> c)
      : cost(std::move(c)), count(cost.size()) {}
  void run(int way) {
    calls.push_back(way);
    now += cost[way][count[way]++];
  }
  RaceResult race_all(const std::vector<bool>& possible, int rounds) {
    RaceOptions o;
    o.rounds = rounds;
    return race(
        possible, [this](int w) { run(w); }, o, [this] { return now; });
  }
};

TEST(FastestTest, CallsEachWayOnceUntimedThenInTurnRoundAfterRound) {
  FakeMachine m({{1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}});
  m.race_all({true, false, true}, 3);
  EXPECT_EQ(m.calls, (std::vector<int>{0, 2, 0, 2, 0, 2, 0, 2}));
}

// Way 0 is the faster (2 against 3 ms) but was timed once while the machine
// was slow (9 ms), in the first, second or last round. One timing after a
// warm-up call, the old rule, would have kept way 1 where the first round
// was slow; the fastest round of each keeps way 0 wherever it falls.
TEST(FastestTest, ASlowRoundDoesNotLoseTheFasterWay) {
  for (int slow = 0; slow < 3; ++slow) {
    std::vector<double> way0 = {50, 2, 2, 2};
    way0[1 + slow] = 9;
    FakeMachine m({way0, {50, 3, 3, 3}});
    const RaceResult r = m.race_all({true, true}, 3);
    EXPECT_EQ(r.fastest, 0) << "slow round " << slow;
    EXPECT_DOUBLE_EQ(r.ms[0], 2) << "slow round " << slow;
    EXPECT_DOUBLE_EQ(r.ms[1], 3) << "slow round " << slow;
  }
  FakeMachine once({{50, 9}, {50, 3}});
  EXPECT_EQ(once.race_all({true, true}, 1).fastest, 1);
}

// The untimed first call (here 50 ms: primitive creation) never counts.
TEST(FastestTest, TheFirstCallIsNotTimed) {
  FakeMachine m({{50, 4, 4}, {1, 5, 5}});
  const RaceResult r = m.race_all({true, true}, 2);
  EXPECT_EQ(r.fastest, 0);
  EXPECT_DOUBLE_EQ(r.ms[0], 4);
}

TEST(FastestTest, WaysNotPossibleAreNeverRunAndReadZero) {
  FakeMachine m({{1, 7, 7}, {1, 1, 1}});
  const RaceResult r = m.race_all({true, false}, 2);
  EXPECT_EQ(r.fastest, 0);
  EXPECT_DOUBLE_EQ(r.ms[1], 0);
  EXPECT_EQ(m.count[1], 0);
}

TEST(FastestTest, TiesGoToTheLowerWayAndZeroTimesStayPositive) {
  FakeMachine m({{0, 0, 0}, {0, 0, 0}});
  const RaceResult r = m.race_all({true, true}, 2);
  EXPECT_EQ(r.fastest, 0);
  EXPECT_GT(r.ms[0], 0);
  EXPECT_GT(r.ms[1], 0);
}

TEST(FastestTest, NothingPossibleGivesNoWay) {
  FakeMachine m({std::vector<double>{1}});
  EXPECT_EQ(m.race_all({false}, 3).fastest, -1);
  EXPECT_TRUE(m.calls.empty());
}

TEST(FastestTest, RejectsFewerThanOneRound) {
  RaceOptions o;
  o.rounds = 0;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  EXPECT_THROW(race(
                   {true}, [](int) {}, o),
               std::invalid_argument);
}

}  // namespace
}  // namespace tessera::common
