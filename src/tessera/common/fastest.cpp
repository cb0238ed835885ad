#include "tessera/common/fastest.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

namespace tessera::common {

void RaceOptions::validate() const {
  if (rounds < 1)
    throw std::invalid_argument("race rounds must be at least 1, got " + std::to_string(rounds));
}

double steady_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

RaceResult race(const std::vector<bool>& possible, const std::function<void(int)>& run,
                const RaceOptions& options, const std::function<double()>& now_ms) {
  options.validate();
  const int ways = int(possible.size());
  RaceResult r;
  r.ms.assign(possible.size(), 0.0);
  for (int w = 0; w < ways; ++w)
    if (possible[w]) run(w);
  for (int round = 0; round < options.rounds; ++round) {
    for (int w = 0; w < ways; ++w) {
      if (!possible[w]) continue;
      const double t0 = now_ms();
      run(w);
      const double ms = std::max(now_ms() - t0, 1e-6);
      if (round == 0 || ms < r.ms[w]) r.ms[w] = ms;
    }
  }
  for (int w = 0; w < ways; ++w)
    if (possible[w] && (r.fastest < 0 || r.ms[w] < r.ms[r.fastest])) r.fastest = w;
  return r;
}

}  // namespace tessera::common
