// The data of one run: the dataset's splits, the shared feature cache and a
// TileStore per split. Unusable files are skipped and reported; a run with
// no usable training recording fails with the reasons.
// Given an unlabelled folder, the network trains on it (`train`, recordings
// of any length) while `dataset` is the labelled set: its train split
// (`labelled_train`) trains the probes, its eval and test splits evaluate.
#pragma once

#include <memory>
#include <string>

#include "tessera/audio/loader.h"
#include "tessera/data/dataset.h"
#include "tessera/data/dataset_loader.h"
#include "tessera/features/feature_cache.h"
#include "tessera/sampling/tile_store.h"

namespace tessera::sampling {

// Where a run's data comes from and how it is cut into tiles.
struct RunDataOptions {
  // The labelled set: it trains the network unless `unlabelled_folder` is
  // given, and evaluates it.
  data::DatasetSource labelled;
  std::string split_path;  // the music layout's split file (data/dataset_loader.h)
  audio::AudioOptions audio;
  // Non-empty: the network trains on every audio file under this folder,
  // loaded with `unlabelled_audio` (whole recordings of any length).
  std::string unlabelled_folder;
  audio::AudioOptions unlabelled_audio;
  features::FeatureOptions features;
  TileGeometry geometry;
  std::string cache_dir;  // the feature cache (features/feature_cache.h)
};

struct RunData {
  data::Dataset dataset;
  std::unique_ptr<features::FeatureCache> cache;
  TileGeometry geometry;
  std::unique_ptr<TileStore> train, eval, test;
  // FolderDataset: the labelled train split, and the cache of the folder's
  // recordings (kept whole, where the labelled set's may be cut to length).
  std::unique_ptr<TileStore> labelled_train;
  std::unique_ptr<features::FeatureCache> unlabelled_cache;
  // What a probe trains on: the labelled train split.
  const TileStore& probe_train() const { return labelled_train ? *labelled_train : *train; }

  // `threads` bounds the feature work of a cold cache.
  static RunData load(const RunDataOptions& options, int threads, bool with_test = false);
};

}  // namespace tessera::sampling
