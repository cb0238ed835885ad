// The labelled set of a run: which layout it is read in and that layout's
// options (an unlabelled folder is listed by data/folder_reader.h).
#pragma once

#include <string>

#include "tessera/data/dataset.h"
#include "tessera/data/dcase_reader.h"
#include "tessera/data/music_reader.h"

namespace tessera::data {

enum class Layout { kDcase, kMusic };

struct DatasetSource {
  Layout layout = Layout::kDcase;
  DcaseOptions dcase;  // read when layout is kDcase
  MusicOptions music;  // read when layout is kMusic
};

// For the music layout, `split_path` (e.g. <run dir>/split.json) is reused
// when it exists and written otherwise. Empty: no split file.
Dataset load_dataset(const DatasetSource& source, const std::string& split_path = "");

}  // namespace tessera::data
