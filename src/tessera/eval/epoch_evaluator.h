// The end-of-epoch evaluation of `tessera train`: the eval split's triplets
// (the same ones every epoch) go through the model in eval mode without
// gradients. It returns the eval triplet loss, distances, active fraction,
// silhouette and centroid spread, and writes eval/epoch_<k>/:
//   centroid_distances.csv   label x label, header row and column
//   embeddings.tsv           one anchor embedding per line (projector format)
//   labels.tsv, names.tsv    one label / "file__tileStart" per line
//   metadata.tsv             label, file and tile start with a header (projector format)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tessera/loss/triplet_loss.h"
#include "tessera/sampling/batch_pipeline.h"
#include "tessera/sampling/buffer_pool.h"
#include "tessera/sampling/tile_store.h"
#include "tessera/sampling/triplet_sampler.h"
#include "tessera/train/trainer.h"

namespace tessera::eval {

struct EmbeddedSet {
  torch::Tensor embeddings;  // [N, E] on the CPU
  std::vector<int> labels;
  std::vector<int> recordings;  // index of each row's recording in its store
  std::vector<std::string> names;
  // Each row's file and tile start in seconds, where rows are tiles (the
  // epoch evaluator's anchors); empty otherwise.
  std::vector<std::string> files;
  std::vector<double> tile_starts;
};

struct EvaluatorOptions {
  // The eval triplets: this sampler's draw for one fixed epoch, every epoch.
  sampling::SamplerOptions sampler;
  sampling::PipelineOptions pipeline;  // batches; at most 4 workers are used
  double margin = 1.0;                 // of the triplet loss reported
  // The reported loss's mean: over the active triplets (kZeroFiltered, the
  // study's) or over all of them.
  loss::Reduction reduction = loss::Reduction::kZeroFiltered;
  int max_anchors = 0;      // 0: every eval triplet
  std::uint64_t seed = 42;  // the clustering of the NMI
  void validate() const;
};

class EpochEvaluator {
 public:
  EpochEvaluator(const EvaluatorOptions& options, const sampling::TileStore& eval,
                 std::vector<std::string> labels, std::string run_dir, torch::Device device);
  train::EpochEval operator()(model::ResNet& net, int epoch);
  // The anchors' embeddings of the last evaluation.
  const EmbeddedSet& last() const { return last_; }

 private:
  EvaluatorOptions options_;
  const sampling::TileStore& store_;
  std::vector<std::string> labels_;
  std::string run_dir_;
  torch::Device device_;
  std::vector<sampling::TripletSpec> specs_;
  // Batch blocks kept from one evaluation to the next: a block of a full
  // Table 1 batch (74 MiB) is larger than glibc's thread arenas, so each new
  // one would be a fresh mapping, faulted in page by page.
  std::shared_ptr<sampling::BufferPool> blocks_;
  EmbeddedSet last_;
};

// Writes the projector files and the centroid matrix of a set into `dir`.
void write_embedding_files(const std::string& dir, const EmbeddedSet& set,
                           const std::vector<std::string>& labels, const torch::Tensor& centroids);

}  // namespace tessera::eval
