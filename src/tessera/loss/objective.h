// What a training step minimises, over one batch of triplets embedded as
// [3B, D] (anchors, neighbours, opposites), each view tagged with its
// recording:
//   triplet    the study's loss on each triplet as drawn (triplet_loss.h);
//   batch_hard each anchor against its neighbour and the closest view of
//              any other recording in the batch (Hermans et al. 2017);
//   semi_hard  ... against the closest view of another recording that is
//              farther than the neighbour, else the farthest one (FaceNet;
//              TensorFlow Addons' triplet_semihard_loss) (mined_triplet_loss.h);
//   nt_xent    the in-batch contrastive loss of SimCLR: anchor and neighbour
//              are each other's positive, every view of another recording is
//              a negative (nt_xent_loss.h).
// Views of the anchor's own recording are never negatives: with the
// study's sampler a batch often holds several triplets of one recording.
#pragma once

#include <string>

#include <torch/torch.h>

#include "tessera/loss/triplet_loss.h"

namespace tessera::loss {

enum class ObjectiveKind { kTriplet, kBatchHard, kSemiHard, kNtXent };
// "triplet", "batch_hard", "semi_hard" or "nt_xent"; an error names the
// nearest when the name is close to one.
ObjectiveKind parse_objective(const std::string& name);
std::string objective_name(ObjectiveKind kind);

struct ObjectiveOptions {
  ObjectiveKind kind = ObjectiveKind::kTriplet;
  double margin = 1.0;                             // the triplet kinds
  Reduction reduction = Reduction::kZeroFiltered;  // the triplet kinds
  double temperature = 0.1;                        // nt_xent
  void validate() const;
};

class Objective {
 public:
  explicit Objective(const ObjectiveOptions& options);
  // The study's triplet loss as an objective (implicit: code that built a
  // TripletLoss for a step keeps doing so).
  Objective(const TripletLoss& triplet);  // NOLINT(google-explicit-constructor)
  // embeddings: [3B, D]; recordings: [3B] int64 recording ids on any device,
  // or undefined, when only the triplet's own views are known to share a
  // recording. Returns the loss and the study's metrics (mean d(a,n) and
  // d(a,o) of the triplets as drawn; active: terms with a non-zero loss).
  TripletLossResult compute(const torch::Tensor& embeddings,
                            const torch::Tensor& recordings = {}) const;
  const ObjectiveOptions& options() const { return options_; }

 private:
  ObjectiveOptions options_;
};

// [3B] ids where only each triplet's own views share a recording: anchor i
// and neighbour i share id i, opposite i has id B + i.
torch::Tensor triplet_recordings(std::int64_t batch, const torch::Device& device);

// [3B, 3B] true where view j may serve as a negative of view i: another
// recording than i's.
torch::Tensor other_recording(const torch::Tensor& recordings);

// Squared Euclidean distances between the rows of x and of y, >= 0.
torch::Tensor squared_distances(const torch::Tensor& x, const torch::Tensor& y);

}  // namespace tessera::loss
