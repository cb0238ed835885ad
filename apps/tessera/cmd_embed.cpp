// tessera embed: vectors for audio files; tessera neighbours: the nearest tiles.
#include <algorithm>
#include <filesystem>
#include <thread>

#include "commands.h"
#include "device_option.h"
#include "tessera/common/atomic_file.h"
#include "tessera/common/format.h"
#include "tessera/common/npy.h"
#include "tessera/common/progress.h"
#include "tessera/common/threads.h"
#include "tessera/data/folder_reader.h"
#include "tessera/eval/embedder.h"
#include "tessera/eval/tile_index.h"
#include "tessera/sampling/run_data.h"
#include "tessera/study/trained_run.h"

namespace tessera::app {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::recursive_directory_iterator(in)) {
        if (e.is_regular_file() && data::is_audio_file(e.path()))
          found.push_back(e.path().string());
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(in);
    }
  }
  return files;
}

std::string fmt_seconds(double s) {
  return common::format_number(s, "%g");
}

struct EmbedArgs {
  std::string run_dir, output, device = "cpu";
  std::vector<std::string> inputs;
  std::string layer = "embedding";
  bool tiles = false;
  int threads = 0, workers = 2;
};

int run_embed(const EmbedArgs& a) {
  torch::set_num_threads(common::resolve_threads(a.threads));
  eval::TrainedModel model = study::load_trained_model(a.run_dir, a.device);
  const sampling::TileGeometry& geometry = model.data.geometry;
  // Files outside the dataset are not cached: an in-memory cache.
  features::FeatureCache cache("", model.data.audio, model.data.features);
  eval::Embedder embedder(model, 64, eval::parse_layer(a.layer));
  const auto files = expand_inputs(a.inputs);
  if (files.empty()) throw std::invalid_argument("embed: no audio files in the inputs");
  std::vector<torch::Tensor> rows;
  std::string tsv = a.tiles ? std::string(eval::kTileIndexHeader) + "\n" : "file\n";
  common::Progress progress("embed", files.size());
  eval::embed_files(
      embedder, cache, geometry, files, a.workers, [&](std::size_t i, const torch::Tensor& e) {
        if (e.size(0) == 0) {
          throw std::runtime_error("embed: '" + files[i] + "' is shorter than one tile (" +
                                   fmt_seconds(geometry.tile_seconds) + " s)");
        }
        if (a.tiles) {
          rows.push_back(e);
          for (std::int64_t t = 0; t < e.size(0); ++t)
            tsv += files[i] + "\t" + fmt_seconds(t * geometry.tile_seconds) + "\n";
        } else {
          rows.push_back(e.mean(0, true));
          tsv += files[i] + "\n";
        }
        progress.update(i + 1);
      });
  progress.finish();
  const torch::Tensor all = torch::cat(rows).contiguous();
  common::write_npy(a.output, {std::size_t(all.size(0)), std::size_t(all.size(1))},
                    all.data_ptr<float>());
  const std::string tsv_path = eval::index_names_path(a.output);
  common::write_file_atomic(tsv_path, tsv);
  std::printf("%s [%lld x %lld]\n%s\n", a.output.c_str(), static_cast<long long>(all.size(0)),
              static_cast<long long>(all.size(1)), tsv_path.c_str());
  return 0;
}

struct NeighbourArgs {
  std::string run_dir, query, index, device = "cpu";
  int k = 10, threads = 0;
};

int run_neighbours(const NeighbourArgs& a) {
  const int threads = common::resolve_threads(a.threads);
  torch::set_num_threads(threads);
  eval::TrainedModel model = study::load_trained_model(a.run_dir, a.device);
  std::string file = a.query;
  double at = 0;
  const auto sep = a.query.rfind('@');
  if (sep != std::string::npos) {
    file = a.query.substr(0, sep);
    char* end = nullptr;
    at = std::strtod(a.query.c_str() + sep + 1, &end);
    if (*end != '\0' || at < 0)
      throw std::invalid_argument("neighbours: '" + a.query + "' must be FILE or FILE@SECONDS");
  }
  sampling::RunData data = sampling::RunData::load(model.data, threads);
  const auto& g = data.geometry;
  eval::Embedder embedder(model);
  features::FeatureCache query_cache("", model.data.audio, model.data.features);
  const torch::Tensor q_all = embedder.embed_features(*query_cache.get(file), g);
  const int tile = int(at / g.tile_seconds + 1e-9);
  if (tile >= q_all.size(0)) {
    throw std::invalid_argument("neighbours: '" + file + "' has no tile at " + fmt_seconds(at) +
                                " s (" + common::count_of(q_all.size(0), "tile") + ")");
  }
  const torch::Tensor q = q_all[tile];
  // The set searched: the run's eval split, or tiles `embed --tiles` wrote.
  std::vector<torch::Tensor> parts;
  std::vector<std::string> names, tile_labels, starts;
  std::string searched = "eval tiles";
  if (a.index.empty()) {
    const auto& store = *data.eval;
    for (std::size_t r = 0; r < store.size(); ++r) {
      parts.push_back(embedder.embed_recording(store, r));
      const auto& rec = store.recording(r);
      for (std::int64_t t = 0; t < parts.back().size(0); ++t) {
        names.push_back(rec.name);
        tile_labels.push_back(rec.label >= 0 ? data.dataset.labels[rec.label] : "-");
        starts.push_back(fmt_seconds(t * g.tile_seconds));
      }
    }
  } else {
    eval::TileIndex index = eval::read_tile_index(a.index, q.size(0));
    names = std::move(index.files);
    starts = std::move(index.starts);
    tile_labels.assign(names.size(), "-");
    parts.push_back(index.vectors);
    searched = "tiles of " + a.index;
  }
  if (names.empty()) throw std::invalid_argument("neighbours: the searched set is empty");
  const auto found = eval::nearest_tiles(torch::cat(parts), q, a.k);
  const auto k = static_cast<long long>(found.size());
  std::printf("query %s @ %s s; %lld nearest of %zu %s (squared distance)\n", file.c_str(),
              fmt_seconds(tile * g.tile_seconds).c_str(), k, names.size(), searched.c_str());
  std::printf("%4s  %9s  %-8s  %-20s  %s\n", "rank", "distance", "start_s", "label", "file");
  for (std::size_t i = 0; i < found.size(); ++i) {
    const auto j = static_cast<std::size_t>(found[i].index);
    std::printf("%4zu  %9.4f  %-8s  %-20s  %s\n", i + 1, found[i].squared_distance,
                starts[j].c_str(), tile_labels[j].c_str(), names[j].c_str());
  }
  return 0;
}

}  // namespace

Command add_embed_command(CLI::App& app) {
  auto a = std::make_shared<EmbedArgs>();
  CLI::App* cmd = app.add_subcommand("embed", "embed audio files or folders with a trained model");
  cmd->add_option("--run-dir", a->run_dir, "a trained run directory")->required();
  cmd->add_option("--input,-i", a->inputs, "audio files or folders")->required();
  cmd->add_option("--output,-o", a->output, "E.npy (E.tsv is written beside it)")->required();
  cmd->add_flag("--tiles", a->tiles, "one vector per tile instead of one per file");
  cmd->add_option("--layer", a->layer,
                  "embedding (the unit vectors the loss shaped) or pooled (the features the "
                  "head projects)")
      ->check(CLI::IsMember({"embedding", "pooled"}));
  cmd->add_option("--workers", a->workers,
                  "threads that decode and compute features ahead of the network (default 2)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", a->threads, "intra-op threads");
  add_device_option(cmd, a->device);
  return {cmd, [a] { return run_embed(*a); }};
}

Command add_neighbours_command(CLI::App& app) {
  auto a = std::make_shared<NeighbourArgs>();
  CLI::App* cmd = app.add_subcommand("neighbours", "the k nearest eval tiles of a query tile");
  cmd->add_option("--run-dir", a->run_dir, "a trained run directory")->required();
  cmd->add_option("--query", a->query, "FILE or FILE@SECONDS")->required();
  cmd->add_option("--k", a->k, "how many neighbours")->check(CLI::PositiveNumber);
  cmd->add_option("--index", a->index,
                  "search these tiles instead of the eval split: an E.npy that `embed --tiles` "
                  "wrote with this run's model (E.tsv beside it)");
  cmd->add_option("--threads", a->threads, "intra-op threads");
  add_device_option(cmd, a->device);
  return {cmd, [a] { return run_neighbours(*a); }};
}

}  // namespace tessera::app
