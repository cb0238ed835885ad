// What a dataset reader produces: the label list and the train, eval and
// test splits as lists of recordings, plus what was skipped and why.
#pragma once

#include <string>
#include <vector>

namespace tessera::data {

struct Recording {
  std::string path;  // absolute or as given; what the decoder opens
  std::string name;  // as listed (e.g. "audio/DevNode1_ex1_1.wav"), used in reports
  int label = -1;    // index into Dataset::labels; -1 when unlabelled (DCASE test list)
  std::string session;
};

struct Split {
  std::string name;
  std::vector<Recording> recordings;
};

// Files that were listed but could not be used. Runs go on without them.
struct SkipReport {
  std::vector<std::string> entries;  // "name: reason"
  void add(const std::string& name, const std::string& reason) {
    entries.push_back(name + ": " + reason);
  }
  std::size_t count() const { return entries.size(); }
  // "3 files skipped: a.wav: missing; b.wav: ...; (and 1 more)"
  std::string summary(std::size_t first = 5) const;
};

struct Dataset {
  std::vector<std::string> labels;
  Split train{"train", {}}, eval{"eval", {}}, test{"test", {}};
  SkipReport skipped;
  const Split* split(const std::string& name) const;
};

}  // namespace tessera::data
