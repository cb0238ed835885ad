// Which of several ways of computing the same result runs fastest on this
// machine, found by timing each of them.
//
// One timing per way is not enough here: this machine's speed changes by
// 2x within minutes (docs/history/performance-libtorch-1.13.md), so a way timed while the machine
// was slow loses to a slower way timed a moment later, and the choice then
// differs from one process to the next. So after one untimed call of each
// way (it pays for first-time costs, such as oneDNN's primitive creation and
// first-touch allocation), the ways are timed in turn, round after round,
// and each keeps its fastest round: every way is then judged at the fastest
// the machine ran while it was timed, and a pause in one round counts for
// nothing.
//
//   RaceResult r = race({true, true, false}, [&](int way) { compute(way); });
//   // r.fastest: 0 or 1; r.ms[2] == 0 (not possible)
#pragma once

#include <functional>
#include <vector>

namespace tessera::common {

struct RaceOptions {
  int rounds = 3;  // timed calls of each way, taken in turn
  void validate() const;
};

struct RaceResult {
  int fastest = -1;        // the possible way of least time; -1 if none was possible
  std::vector<double> ms;  // each way's fastest round (ms); 0 for ways not possible
};

// Milliseconds on the steady clock, from an arbitrary start.
double steady_ms();

// Runs run(way) for each possible way as above. Ties go to the lower way.
// `now_ms` reads the clock (tests give a fake one); a way's time is at
// least 1e-6 ms, so that 0 only ever means "not possible".
RaceResult race(const std::vector<bool>& possible, const std::function<void(int)>& run,
                const RaceOptions& options = {}, const std::function<double()>& now_ms = steady_ms);

}  // namespace tessera::common
