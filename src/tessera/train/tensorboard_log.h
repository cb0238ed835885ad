// What `tessera train` shows in TensorBoard, in <run dir>/tensorboard/:
//   train/loss, train/triplet_loss, train/active_fraction,
//   train/dist_neighbour, train/dist_opposite, train/lr  every step
//   epoch/<column> for each column of metrics/epochs.csv  at each epoch's last step
//   eval/centroid_distances (image)                       at each epoch's last step
//   config (text)                                         at step 0
// and projector_config.pbtxt naming every evaluated epoch's embeddings
// (eval/epoch_<k>/embeddings.tsv and metadata.tsv).
//
// Every event is at the global step, so a resumed run marks a restart at
// the step after its checkpoint (EventWriter::session_start) and TensorBoard
// drops what the interrupted process wrote past it. A fresh run removes an
// earlier run's event files first, as it starts its metrics afresh.
//
//   TensorBoardLog tb(run_dir, /*resumed_at=*/-1, config_json);
//   tb.step(step, result, lr);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tessera/tensorboard/event_writer.h"
#include "tessera/train/train_step.h"
#include "tessera/train/trainer.h"

namespace tessera::train {

class TensorBoardLog {
 public:
  // resumed_at: the step of the checkpoint a resumed run starts from, or -1
  // for a fresh run.
  TensorBoardLog(const std::string& run_dir, std::int64_t resumed_at,
                 const std::string& config_json);
  void step(std::int64_t step, const StepResult& r, double lr);
  // `values` are the epochs.csv row of this epoch, under `columns` (the first,
  // "epoch", is not logged).
  void epoch(std::int64_t step, const std::vector<std::string>& columns,
             const std::vector<double>& values, const EpochEval& eval);
  void flush() { writer_.flush(); }

  // The log directory of a run.
  static std::string logdir(const std::string& run_dir) { return run_dir + "/tensorboard"; }

 private:
  void write_projector_config();

  std::string run_dir_;
  tensorboard::EventWriter writer_;
};

}  // namespace tessera::train
