#include "tessera/eval/logmel_stats.h"

namespace tessera::eval {
namespace {

// [frames, C * B] rows -> [2 * C * B]: the column means, then the column
// population standard deviations (in double: a clip has thousands of frames).
torch::Tensor mean_and_std(const torch::Tensor& frames) {
  const torch::Tensor x = frames.to(torch::kFloat64);
  const torch::Tensor mean = x.mean(0);
  const torch::Tensor std = (x - mean).pow(2).mean(0).sqrt();
  return torch::cat({mean, std}).to(torch::kFloat32);
}

}  // namespace

RecordingEmbeddings logmel_stats_split(const sampling::TileStore& store) {
  const sampling::TileGeometry& g = store.geometry();
  RecordingEmbeddings r;
  std::vector<torch::Tensor> rows, tiles;
  for (std::size_t i = 0; i < store.size(); ++i) {
    const int n = store.tiles(i);
    // [tiles, C, frames, B] -> frames as rows of C * B values.
    torch::Tensor t = torch::empty({n, g.channels, g.tile_frames, g.bins}, torch::kFloat32);
    for (int k = 0; k < n; ++k) store.copy_tile(i, k, t[k].data_ptr<float>());
    const torch::Tensor frames = t.permute({0, 2, 1, 3}).reshape({n, g.tile_frames, -1});
    rows.push_back(mean_and_std(frames.reshape({n * g.tile_frames, -1})));
    for (int k = 0; k < n; ++k) tiles.push_back(mean_and_std(frames[k]));
    r.labels.push_back(store.recording(i).label);
    r.names.push_back(store.recording(i).name);
    r.tile_recording.insert(r.tile_recording.end(), n, int(i));
    r.tile_labels.insert(r.tile_labels.end(), n, r.labels.back());
  }
  r.vectors = rows.empty() ? torch::empty({0, 0}) : torch::stack(rows);
  r.tiles = tiles.empty() ? torch::empty({0, 0}) : torch::stack(tiles);
  return r;
}

}  // namespace tessera::eval
