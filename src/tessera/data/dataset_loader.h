// Chooses the reader from the config's `dataset` key; for FolderDataset, the
// labelled set that evaluates it, from `eval_dataset` (the folder itself is
// listed by data/folder_reader.h).
#pragma once

#include <string>

#include "tessera/data/dataset.h"

namespace tessera::common {
struct Config;
}

namespace tessera::data {

// For the music layout, `split_path` (e.g. <run dir>/split.json) is reused
// when it exists and written otherwise. Empty: no split file.
Dataset load_dataset(const common::Config& config, const std::string& split_path = "");

}  // namespace tessera::data
