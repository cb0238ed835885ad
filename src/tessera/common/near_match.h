// "Did you mean": the one candidate a mistyped word is clearly close to.
//
//   near_match("epoch", {"epochs", "batch_size"})   // "epochs"
//   did_you_mean("epoch", keys)                     // " (did you mean 'epochs'?)" or ""
#pragma once

#include <string>
#include <vector>

namespace tessera::common {

// Edit distance with adjacent transpositions (optimal string alignment).
int edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `word`, when the match is clear: within a third
// of the word's length in edits (at least 1, at most 3), and strictly
// closer than every other candidate. Else "" (also for an exact match).
std::string near_match(const std::string& word, const std::vector<std::string>& candidates);

// " (did you mean 'X'?)" for near_match's X, or "" when there is none.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace tessera::common
