// `tessera train`: one embedding space, as the original train_triplet_loss.
// The run directory contract:
//   config.json                  the effective config (TrainingOptions::record)
//   metrics/train_steps.csv      step,epoch,loss,triplet_loss,reg_loss,
//                                dist_neighbour,dist_opposite,active_fraction,lr,seconds
//                                (seconds: the step's share of the steps
//                                between two metric read-backs)
//   metrics/epochs.csv           epoch,train_loss,train_triplet_loss,eval_triplet_loss,
//                                eval_dist_neighbour,eval_dist_opposite,
//                                eval_active_fraction,silhouette,centroid_cv,
//                                precision_at_1,r_precision,map_at_r,nmi
//   metrics/timing.json          wall time, steps, triplets per second, the
//                                share of wall time spent waiting for data,
//                                on a GPU its idle share between steps, the
//                                Adam update, and the steps replayed from a
//                                CUDA graph
//   metrics/ranks.json           with several ranks: each rank's network
//                                digest after the last epoch (they must agree;
//                                train/module_digest.h)
//   eval/epoch_<k>/...           written by the epoch evaluator
//   tensorboard/                 event files and projector_config.pbtxt
//                                (train/tensorboard_log.h), unless switched off
//   checkpoints/epoch_<k>.pt     the newest three
//   kernel_plan.json             the conv tuner's choices (ops/conv_plan.h),
//                                written with each checkpoint once a bf16 run
//                                has tuned; a resume takes it back
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/augment/tile_augmenter.h"
#include "tessera/loss/objective.h"
#include "tessera/model/resnet.h"
#include "tessera/sampling/batch_pipeline.h"
#include "tessera/sampling/run_data.h"
#include "tessera/train/train_step.h"

namespace tessera::train {

struct EpochEval {
  double triplet_loss = 0, dist_neighbour = 0, dist_opposite = 0, active_fraction = 0;
  double silhouette = 0, centroid_cv = 0;
  double precision_at_1 = 0, r_precision = 0, map_at_r = 0, nmi = 0;
  // The label x label centroid distances, row-major (empty: not evaluated).
  std::vector<double> centroid_distances;
  int labels = 0;
  // Where the epoch's projector files lie, relative to the run directory
  // ("eval/epoch_<k>"; empty: none written).
  std::string embeddings_dir;
};
// Evaluates the model after epoch `epoch` (1-based) and writes its files.
using EpochEvalFn = std::function<EpochEval(model::ResNet& net, int epoch)>;

// What a run trains, in the study's terms (study/config_options.h maps the
// config onto it): the schedule, the network, the triplets and batches, the
// objective and the augmentation of training views.
struct TrainingOptions {
  int epochs = 10;
  int batch_size = 256;  // the global batch, over all ranks
  double learning_rate = 1e-3;
  // The original's staircase decay (tf.keras ExponentialDecay with
  // staircase=True): learning_rate * lr_decay_rate^floor(step / lr_decay_steps).
  double lr_decay_rate = 0.95;
  int lr_decay_steps = 7500;
  double l2_amount = 0.0;
  std::uint64_t seed = 42;  // the initial weights and the batches' augmentation
  int log_every = 10;       // steps between log lines
  bool save_model = true;
  int save_frequency = 1;  // epochs between checkpoints
  model::ResNetOptions model;
  sampling::SamplerOptions sampler;
  sampling::PipelineOptions pipeline;  // its batch_size is per rank; the trainer sets it
  loss::ObjectiveOptions objective;
  augment::AugmentOptions augment;
  // The run's own record, written as config.json and shown in TensorBoard's
  // text tab, and what a checkpoint must hold to continue this run (compared
  // key by key on resume). Both are the caller's; the trainer does not read
  // them.
  nlohmann::json record = nlohmann::json::object();
  nlohmann::json fingerprint = nlohmann::json::object();
  // Throws std::invalid_argument naming the option and the rule it breaks.
  void validate() const;
};

struct TrainerOptions {
  int threads = 0;  // 0: all cores
  std::string device = "cpu";
  Precision precision = Precision::kFp32;
  // kAuto: bf16 convolutions on NHWC activations; kNchw: NCHW (train_step.h).
  Layout layout = Layout::kAuto;
  // Tessera's own CPU kernels for bf16 (ops/kernel_options.h).
  ops::KernelOptions kernels;
  // A conv plan to start from (another run's kernel_plan.json): the layer
  // shapes it holds take its computations instead of being tuned, so two
  // runs with the same seed and plan train bit for bit alike. A resumed run
  // takes its own plan, written with its checkpoints. Empty: tune.
  std::string kernel_plan;
  // The optimiser's update (device/fused_adam.h).
  device::AdamUpdate adam = device::AdamUpdate::kAuto;
  // Replay the training step from a CUDA graph (train_step.h's StepOptions:
  // a GPU, the fused update, one process).
  bool cuda_graph = false;
  // Event files and the projector configuration for TensorBoard
  // (tensorboard_log.h), written by rank 0.
  bool tensorboard = true;
  bool resume = false;
  // Steps between read-backs of the step metrics (loss, distances). Reading
  // them waits for the device; on a GPU each wait would empty its queue.
  // 0: every step on the CPU (whose steps finish before they return), the
  // config's log_every on a GPU. A non-finite loss stops the run at the
  // read-back that finds it, before any checkpoint is written.
  int metrics_every = 0;
  // Distributed data parallel: this process's rank among `world`.
  int rank = 0, world = 1;
  // Called after each backward pass (gradient all-reduce) and before each
  // evaluation (batch-norm broadcast); empty for one process.
  std::function<void(model::ResNet&)> sync_gradients, sync_buffers, sync_parameters;
  // Reduces a vector of sums over ranks (metrics of the global batch).
  std::function<void(std::vector<double>&)> all_reduce_sum;
};

struct TrainSummary {
  int epochs_run = 0;
  std::int64_t steps = 0;
  double seconds = 0, triplets_per_second = 0, data_wait_seconds = 0;
  // Where the time went: the epochs' batch loops (step_seconds of it in the
  // training step itself, the rest waiting for or handing over batches),
  // evaluation, and checkpoint writing.
  double loop_seconds = 0, step_seconds = 0, eval_seconds = 0, checkpoint_seconds = 0;
  std::int64_t triplets = 0;
  bool interrupted = false;
};

class Trainer {
 public:
  Trainer(TrainingOptions training, std::string run_dir, TrainerOptions options,
          sampling::RunData& data, EpochEvalFn eval);
  TrainSummary run();

  // Set by SIGINT/SIGTERM: the trainer finishes the step, checkpoints and stops.
  static std::atomic<bool>& stop_requested();
  static void install_signal_handlers();

 private:
  TrainingOptions training_;
  std::string run_dir_;
  TrainerOptions options_;
  sampling::RunData& data_;
  EpochEvalFn eval_;
};

// Thrown when the loss becomes NaN or Inf.
class NonFiniteLoss : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tessera::train
