#include "tessera/data/dataset_loader.h"

#include <filesystem>

#include "tessera/common/config.h"
#include "tessera/data/dcase_reader.h"
#include "tessera/data/music_reader.h"

namespace tessera::data {

Dataset load_dataset(const common::Config& c, const std::string& split_path) {
  // An unlabelled folder trains; its labelled set is of the eval_dataset layout.
  const std::string layout = c.dataset == "FolderDataset" ? c.eval_dataset : c.dataset;
  if (layout == "MusicDataset") {
    if (!split_path.empty() && std::filesystem::exists(split_path)) {
      return load_split(split_path, c.music_dataset_path);
    }
    MusicOptions o;
    o.root = c.music_dataset_path;
    o.held_out = c.train_test_split;
    o.seed = c.random_seed;
    o.labels = c.labels;
    Dataset d = read_music(o);
    if (!split_path.empty()) save_split(d, split_path);
    return d;
  }
  DcaseOptions o;
  o.root = c.dcase_dataset_path;
  o.fold = c.dcase_dataset_fold;
  o.eval_root = c.dcase_eval_dataset_path;
  o.labels = c.labels;
  return read_dcase(o);
}

}  // namespace tessera::data
