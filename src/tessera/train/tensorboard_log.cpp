#include "tessera/train/tensorboard_log.h"

#include <algorithm>
#include <filesystem>

#include "tessera/tensorboard/png.h"
#include "tessera/tensorboard/projector.h"

namespace tessera::train {
namespace fs = std::filesystem;
namespace {

// The log directory, emptied of an earlier run's event files and projector
// configuration when this run starts afresh.
std::string prepared_logdir(const std::string& run_dir, bool fresh) {
  const std::string dir = TensorBoardLog::logdir(run_dir);
  if (fresh && fs::is_directory(dir)) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("events.out.tfevents.", 0) == 0 || name == "projector_config.pbtxt")
        fs::remove(entry.path());
    }
  }
  return dir;
}

// Each cell of the centroid matrix as a square of this many pixels.
constexpr int kCellPixels = 24;

}  // namespace

TensorBoardLog::TensorBoardLog(const std::string& run_dir, std::int64_t resumed_at,
                               const std::string& config_json)
    : run_dir_(run_dir), writer_(prepared_logdir(run_dir, resumed_at < 0), {}) {
  if (resumed_at >= 0) {
    writer_.session_start(resumed_at + 1);
  } else {
    writer_.text("config", 0, "```json\n" + config_json + "\n```");
  }
  writer_.flush();
}

void TensorBoardLog::step(std::int64_t step, const StepResult& r, double lr) {
  writer_.scalar("train/loss", step, r.loss);
  writer_.scalar("train/triplet_loss", step, r.triplet_loss);
  writer_.scalar("train/active_fraction", step, r.active_fraction);
  writer_.scalar("train/dist_neighbour", step, r.dist_neighbour);
  writer_.scalar("train/dist_opposite", step, r.dist_opposite);
  writer_.scalar("train/lr", step, lr);
}

void TensorBoardLog::epoch(std::int64_t step, const std::vector<std::string>& columns,
                           const std::vector<double>& values, const EpochEval& eval) {
  for (std::size_t i = 1; i < columns.size() && i < values.size(); ++i)
    writer_.scalar("epoch/" + columns[i], step, values[i]);
  if (eval.labels > 0 && eval.centroid_distances.size() == std::size_t(eval.labels) * eval.labels) {
    writer_.image(
        "eval/centroid_distances", step,
        tensorboard::heat_map(eval.centroid_distances, eval.labels, eval.labels, kCellPixels));
  }
  if (!eval.embeddings_dir.empty()) write_projector_config();
  writer_.flush();
}

// Every eval/epoch_<k> with embeddings, in epoch order (a resumed run keeps
// the earlier process's epochs).
void TensorBoardLog::write_projector_config() {
  std::vector<std::pair<int, std::string>> epochs;
  const fs::path eval = fs::path(run_dir_) / "eval";
  if (fs::is_directory(eval)) {
    for (const auto& entry : fs::directory_iterator(eval)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("epoch_", 0) != 0 || !fs::exists(entry.path() / "embeddings.tsv")) continue;
      const std::string number = name.substr(6);
      if (number.empty() ||
          !std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; }))
        continue;
      epochs.emplace_back(std::stoi(number), name);
    }
  }
  std::sort(epochs.begin(), epochs.end());
  std::vector<tensorboard::ProjectorEmbedding> list;
  for (const auto& [k, name] : epochs) {
    const bool metadata = fs::exists(eval / name / "metadata.tsv");
    list.push_back({name, "../eval/" + name + "/embeddings.tsv",
                    metadata ? "../eval/" + name + "/metadata.tsv" : std::string()});
  }
  tensorboard::write_projector_config(logdir(run_dir_), list);
}

}  // namespace tessera::train
