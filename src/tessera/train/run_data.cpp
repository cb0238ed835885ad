#include "tessera/train/run_data.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "tessera/common/log.h"
#include "tessera/common/threads.h"
#include "tessera/data/dataset_loader.h"
#include "tessera/data/folder_reader.h"

namespace tessera::train {

std::string resolve_cache_dir(const common::Config& c, const std::string& run_dir) {
  if (!c.cache_dir.empty()) return c.cache_dir;
  return (std::filesystem::path(run_dir) / "cache").string();
}

int feature_threads(const common::Config& c, int threads) {
  return std::min(threads * 2, common::resolve_threads(c.num_parallel_calls));
}

common::Config labelled_config(const common::Config& c) {
  common::Config l = c;
  if (c.dataset == "FolderDataset") l.dataset = c.eval_dataset;
  return l;
}

RunData RunData::load(const common::Config& config, const std::string& run_dir, int threads,
                      bool with_test) {
  const common::Config c = labelled_config(config);
  const bool folder = config.dataset == "FolderDataset";
  RunData d;
  d.dataset = data::load_dataset(c, (std::filesystem::path(run_dir) / "split.json").string());
  const audio::AudioOptions audio = audio::AudioOptions::from_config(c);
  const features::FeatureOptions feats = features::FeatureOptions::from_config(c);
  d.cache = std::make_unique<features::FeatureCache>(resolve_cache_dir(c, run_dir), audio, feats);
  d.geometry = sampling::TileGeometry::from_config(c);
  // Two tiles are the least that gives an anchor a neighbour.
  auto store = [&](const std::vector<data::Recording>& recs, features::FeatureCache& cache,
                   int min_tiles, const char* label) {
    return std::make_unique<sampling::TileStore>(sampling::TileStore::build(
        recs, cache, d.geometry, threads, min_tiles, d.dataset.skipped, label));
  };
  if (folder) {
    const data::FolderListing pool = data::read_folder(config.unlabelled_dataset_path);
    if (pool.other_files) {
      common::log_info("unlabelled folder: ", pool.other_files,
                       " files without an audio extension left out");
    }
    // Whole recordings, whatever their length (audio/loader.h): the fixed
    // clip length and the silence trimming belong to the labelled layouts.
    d.unlabelled_cache = std::make_unique<features::FeatureCache>(
        resolve_cache_dir(c, run_dir), audio::AudioOptions::from_config(config), feats);
    d.train = store(pool.recordings, *d.unlabelled_cache, 2, "features unlabelled");
    d.labelled_train = store(d.dataset.train.recordings, *d.cache, 1, "features train");
  } else {
    d.train = store(d.dataset.train.recordings, *d.cache, 2, "features train");
  }
  d.eval = store(d.dataset.eval.recordings, *d.cache, 2, "features eval");
  if (with_test) d.test = store(d.dataset.test.recordings, *d.cache, 1, "features test");
  if (d.dataset.skipped.count()) common::log_warning(d.dataset.skipped.summary());
  if (d.train->size() < 2) {
    throw std::runtime_error("data: fewer than two usable training recordings (" +
                             std::to_string(folder ? d.train->size() + d.dataset.skipped.count()
                                                   : d.dataset.train.recordings.size()) +
                             " listed; " + d.dataset.skipped.summary() + ")");
  }
  return d;
}

}  // namespace tessera::train
