// An unlabelled folder of recordings: every audio file under `root`,
// recursively (wav, flac, ogg, oga, opus, aif, aiff, mp3 by extension, in
// any case), in sorted path order so that a run's recording indices do not
// depend on the file system's listing order. Recordings are unlabelled
// (label -1) and named by their path relative to the root. Files that turn
// out not to decode are skipped and counted where their features are made
// (sampling/tile_store.h), as for every dataset.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "tessera/data/dataset.h"

namespace tessera::data {

// Whether a path names an audio file by its extension.
bool is_audio_file(const std::filesystem::path& path);

struct FolderListing {
  std::vector<Recording> recordings;
  std::size_t other_files = 0;  // files of other extensions, not listed
};

// Throws std::runtime_error when `root` is not a directory or holds no audio file.
FolderListing read_folder(const std::string& root);

}  // namespace tessera::data
