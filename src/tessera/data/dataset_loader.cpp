#include "tessera/data/dataset_loader.h"

#include <filesystem>

namespace tessera::data {

Dataset load_dataset(const DatasetSource& source, const std::string& split_path) {
  if (source.layout == Layout::kDcase) return read_dcase(source.dcase);
  if (!split_path.empty() && std::filesystem::exists(split_path)) {
    return load_split(split_path, source.music.root);
  }
  Dataset d = read_music(source.music);
  if (!split_path.empty()) save_split(d, split_path);
  return d;
}

}  // namespace tessera::data
