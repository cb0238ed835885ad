#include "tessera/common/near_match.h"

#include <algorithm>
#include <climits>

namespace tessera::common {

int edit_distance(const std::string& a, const std::string& b) {
  const std::size_t n = a.size(), m = b.size();
  // Three rows of the dynamic programme: i - 2, i - 1 and i.
  std::vector<int> two(m + 1), one(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) one[j] = int(j);
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = int(i);
    for (std::size_t j = 1; j <= m; ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({one[j] + 1, cur[j - 1] + 1, one[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], two[j - 2] + 1);
    }
    std::swap(two, one);
    std::swap(one, cur);
  }
  return one[m];
}

std::string near_match(const std::string& word, const std::vector<std::string>& candidates) {
  const int limit = std::clamp(int(word.size()) / 3, 1, 3);
  int best = INT_MAX, second = INT_MAX;
  std::string found;
  for (const auto& c : candidates) {
    const int d = edit_distance(word, c);
    if (d < best) {
      second = best;
      best = d;
      found = c;
    } else if (d < second) {
      second = d;
    }
  }
  return best <= limit && best < second && best > 0 ? found : std::string();
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string m = near_match(word, candidates);
  return m.empty() ? std::string() : " (did you mean '" + m + "'?)";
}

}  // namespace tessera::common
