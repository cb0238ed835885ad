// The folder-per-label layout: ROOT/<label>/*.{wav,flac,ogg}, any length and
// rate. Labels are the folder names, sorted. The split is made per label
// with a seeded shuffle: a `held_out` fraction of each label's files leaves
// training, half of it (rounded up) to eval and the rest to test.
#pragma once

#include <string>
#include <vector>

#include "tessera/data/dataset.h"

namespace tessera::data {

struct MusicOptions {
  std::string root;
  double held_out = 0.2;  // train_test_split
  int seed = 42;
  std::vector<std::string> labels;  // empty: every folder; else exactly these
  void validate() const;
};

Dataset read_music(const MusicOptions& options);

// The split as JSON ({"labels": [...], "train": [[name, label], ...], ...}),
// so that a run can be repeated on exactly the same files.
void save_split(const Dataset& d, const std::string& path);
// Reads a saved split; recordings whose file is gone are skipped and counted.
Dataset load_split(const std::string& path, const std::string& root);

}  // namespace tessera::data
