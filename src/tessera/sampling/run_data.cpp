#include "tessera/sampling/run_data.h"

#include <stdexcept>

#include "tessera/common/log.h"
#include "tessera/data/dataset_loader.h"
#include "tessera/data/folder_reader.h"

namespace tessera::sampling {

RunData RunData::load(const RunDataOptions& o, int threads, bool with_test) {
  const bool folder = !o.unlabelled_folder.empty();
  RunData d;
  d.dataset = data::load_dataset(o.labelled, o.split_path);
  d.cache = std::make_unique<features::FeatureCache>(o.cache_dir, o.audio, o.features);
  d.geometry = o.geometry;
  // Two tiles are the least that gives an anchor a neighbour.
  auto store = [&](const std::vector<data::Recording>& recs, features::FeatureCache& cache,
                   int min_tiles, const char* label) {
    return std::make_unique<TileStore>(
        TileStore::build(recs, cache, d.geometry, threads, min_tiles, d.dataset.skipped, label));
  };
  if (folder) {
    const data::FolderListing pool = data::read_folder(o.unlabelled_folder);
    if (pool.other_files) {
      common::log_info("unlabelled folder: ", pool.other_files,
                       " files without an audio extension left out");
    }
    d.unlabelled_cache =
        std::make_unique<features::FeatureCache>(o.cache_dir, o.unlabelled_audio, o.features);
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

}  // namespace tessera::sampling
