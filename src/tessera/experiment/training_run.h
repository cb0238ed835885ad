// One training run as `tessera train` does it, as a library call: the run
// directory's lock, the feature cache, the data-parallel group when `env`
// has several processes, the end-of-epoch evaluation and the trainer.
// `tessera train` is a thin wrapper over it, and the sweep calls it for an
// in-process run.
//
// It lives in experiment, not train: it joins the trainer with the epoch
// evaluator (eval), which sits above train.
#pragma once

#include <string>

#include "tessera/study/config.h"
#include "tessera/train/distributed.h"
#include "tessera/train/trainer.h"

namespace tessera::experiment {

struct TrainingRunOptions {
  // threads, device, precision, layout, kernels, tensorboard, resume. The
  // rank, world and sync hooks are set from `env`.
  train::TrainerOptions trainer;
  train::DistOptions dist;
  // This process's place in a data-parallel group (the CLI reads torchrun's
  // variables into it); the default is one process.
  train::DistEnv env;
  void validate() const;
};

// Trains `config` into `run_dir` (created if missing). After a torchrun
// restart (env.restart_count > 0) it resumes even without trainer.resume.
// Throws on bad input; an interrupted run returns with summary.interrupted.
train::TrainSummary run_training(const study::Config& config, const std::string& run_dir,
                                 const TrainingRunOptions& options);

}  // namespace tessera::experiment
