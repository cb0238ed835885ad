// The data of one run: the dataset's splits, the shared feature cache and a
// TileStore per split. Unusable files are skipped and reported; a run with
// no usable training recording fails with the reasons.
// With dataset "FolderDataset" the network trains on an unlabelled folder
// (`train`, recordings of any length) while `dataset` is the labelled set
// of the config's eval_dataset layout: its train split (`labelled_train`)
// trains the probes, its eval and test splits evaluate.
#pragma once

#include <memory>
#include <string>

#include "tessera/common/config.h"
#include "tessera/data/dataset.h"
#include "tessera/features/feature_cache.h"
#include "tessera/sampling/tile_store.h"

namespace tessera::train {

// The cache directory of a run: the config's cache_dir, else <run_dir>/cache.
std::string resolve_cache_dir(const common::Config& config, const std::string& run_dir);

// The config of the labelled set: `config` itself, or for FolderDataset the
// same with dataset set to its eval_dataset.
common::Config labelled_config(const common::Config& config);

// Feature threads for a command given `threads` compute threads: twice
// those, at most num_parallel_calls (0: one per core).
int feature_threads(const common::Config& config, int threads);

struct RunData {
  data::Dataset dataset;
  std::unique_ptr<features::FeatureCache> cache;
  sampling::TileGeometry geometry;
  std::unique_ptr<sampling::TileStore> train, eval, test;
  // FolderDataset: the labelled train split, and the cache of the folder's
  // recordings (kept whole, where the labelled set's may be cut to length).
  std::unique_ptr<sampling::TileStore> labelled_train;
  std::unique_ptr<features::FeatureCache> unlabelled_cache;
  // What a probe trains on: the labelled train split.
  const sampling::TileStore& probe_train() const {
    return labelled_train ? *labelled_train : *train;
  }

  // `threads` bounds the feature work of a cold cache (feature_threads()).
  static RunData load(const common::Config& config, const std::string& run_dir, int threads,
                      bool with_test = false);
};

}  // namespace tessera::train
