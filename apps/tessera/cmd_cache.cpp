// tessera cache build: fill the feature cache ahead of training.
#include <filesystem>
#include <thread>

#include "commands.h"
#include "config_args.h"
#include "tessera/common/format.h"
#include "tessera/common/temporary_files.h"
#include "tessera/common/threads.h"
#include "tessera/data/dataset_loader.h"
#include "tessera/data/folder_reader.h"
#include "tessera/sampling/run_data.h"
#include "tessera/sampling/tile_store.h"
#include "tessera/study/config_options.h"

namespace tessera::app {
namespace {

struct CacheArgs {
  ConfigArgs config;
  std::string cache_dir;
  int threads = 0;
};

int run_cache_build(const CacheArgs& a) {
  study::Config cfg = load_config(a.config);
  const std::string dir = !a.cache_dir.empty() ? a.cache_dir : cfg.cache_dir;
  if (dir.empty())
    throw std::invalid_argument("cache build: give --cache-dir or set cache_dir in the config");
  common::remove_orphaned_temporaries(dir);
  // The labelled set's splits with its own layout's audio options; with
  // FolderDataset also the unlabelled folder's recordings, whole
  // (sampling/run_data.h reads them the same way).
  const study::Config labelled = study::labelled_config(cfg);
  data::Dataset d = data::load_dataset(study::dataset_source(labelled));
  features::FeatureCache cache(dir, study::audio_options(labelled),
                               study::feature_options(labelled));
  const auto geometry = study::tile_geometry(cfg);
  const int threads = common::resolve_threads(a.threads);
  std::size_t usable = 0, computed = 0, cached = 0;
  if (cfg.dataset == "FolderDataset") {
    features::FeatureCache whole(dir, study::audio_options(cfg), study::feature_options(cfg));
    usable += sampling::TileStore::build(data::read_folder(cfg.unlabelled_dataset_path).recordings,
                                         whole, geometry, threads, 1, d.skipped, "cache unlabelled")
                  .size();
    computed += whole.stats().misses;
    cached += whole.stats().hits;
  }
  // Entries are written one by one and atomically, so an interrupted build
  // keeps what it finished and a re-run computes only the rest.
  for (const data::Split* s : {&d.train, &d.eval, &d.test}) {
    if (s->recordings.empty()) continue;
    auto store = sampling::TileStore::build(s->recordings, cache, geometry, threads, 1, d.skipped,
                                            "cache " + s->name);
    usable += store.size();
  }
  const auto st = cache.stats();
  std::printf("cache %s: %s ready (%zu computed, %zu already cached)\n%s\n", dir.c_str(),
              common::count_of((long long)usable, "recording").c_str(), computed + st.misses,
              cached + st.hits, d.skipped.summary().c_str());
  return usable > 0 ? 0 : 1;
}

}  // namespace

Command add_cache_command(CLI::App& app) {
  auto a = std::make_shared<CacheArgs>();
  CLI::App* cmd = app.add_subcommand("cache", "manage the feature cache");
  cmd->require_subcommand(1);
  CLI::App* build =
      cmd->add_subcommand("build", "compute every recording's features into the cache");
  a->config.add_to(build, true);
  build->add_option("--cache-dir", a->cache_dir,
                    "cache directory (default: the config's cache_dir)");
  build->add_option("--threads", a->threads, "worker threads (default: all cores)");
  return {cmd, [a] { return run_cache_build(*a); }};
}

}  // namespace tessera::app
