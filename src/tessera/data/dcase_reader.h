// The DCASE 2018 Task 5 (SINS) layout:
//   ROOT/audio/*.wav
//   ROOT/evaluation_setup/fold{N}_train.txt     audio/x.wav <TAB> label <TAB> session
//   ROOT/evaluation_setup/fold{N}_evaluate.txt  audio/x.wav <TAB> label
//   ROOT/evaluation_setup/fold{N}_test.txt      audio/x.wav
// and a separate evaluation set whose evaluate.txt lists the test split.
#pragma once

#include <string>
#include <vector>

#include "tessera/data/dataset.h"

namespace tessera::data {

// DCASE 2018 Task 5's nine activities, in the challenge's order.
const std::vector<std::string>& dcase_labels();

struct DcaseOptions {
  std::string root;
  int fold = 1;
  std::string eval_root;            // the evaluation set; empty: no test split
  std::vector<std::string> labels;  // empty: dcase_labels()
  void validate() const;
};

// Reads one fold list. Lines name a file relative to `root`; a label not in
// `labels` is an error naming the list file and line; a listed file that does
// not exist is skipped and recorded in `skipped`. Blank lines are ignored;
// a line with too few fields is an error naming file and line.
std::vector<Recording> read_fold_list(const std::string& list_path, const std::string& root,
                                      const std::vector<std::string>& labels, bool labelled,
                                      SkipReport& skipped);

Dataset read_dcase(const DcaseOptions& options);

}  // namespace tessera::data
