// `tessera sweep`: training runs per margin with otherwise identical
// hyperparameters, then the report.
// - seeds == 1: one run per margin, into DIR/margin_<m>/, all with the
//   config's seed (the same initial weights and triplet order).
// - seeds == N > 1: N runs per margin, into DIR/margin_<m>/seed_<s>/ with
//   s = random_seed, random_seed + 1, ...; seed s gives the same initial
//   weights and triplet order to every margin. The report gives each metric
//   over the seeds with an interval.
// - The feature cache (DIR/cache) and the music split are made once, before
//   any run trains, and shared by all.
// - Resumable: a finished run is skipped; a partly trained one resumes from
//   its checkpoint.
// - A run trains in this process (run_training), or in a worker process
//   whose command line `worker_command` gives (the CLI: `tessera train`).
//   jobs > 1 trains runs concurrently in workers, splitting the threads
//   between them.
// - With world > 1 (torchrun variables) and distribute_margins, rank r
//   trains the runs r, r + world, ... of the (margin, seed) list; rank 0
//   writes the report once every run is complete.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tessera/experiment/report.h"
#include "tessera/ops/kernel_options.h"
#include "tessera/study/config.h"
#include "tessera/train/train_step.h"

namespace tessera::experiment {

struct SweepOptions;

// One training of the sweep, as a worker is asked to do it.
struct SweepRun {
  double margin = 0;
  std::int64_t seed = 0;
  std::string run_dir;      // absolute
  std::string config_path;  // the run's config: the sweep's, with this margin and seed
  int threads = 1;          // intra-op threads for this run
};

// The command line of a worker process that trains `run` with the sweep's
// device, precision, kernels and TensorBoard choice, resuming from the run
// directory's checkpoint when there is one. The worker's output goes to
// <run_dir>/train.log.
using WorkerCommand =
    std::function<std::vector<std::string>(const SweepRun& run, const SweepOptions& options)>;

struct SweepOptions {
  std::vector<double> margins;  // empty: the config's margins
  std::vector<double> focus = {0.5, 0.7, 1.0};
  int seeds = 1;  // runs per margin, with consecutive seeds from the config's
  int jobs = 1;
  int threads = 0;  // total intra-op threads; 0: all cores
  std::string device = "cpu";
  train::Precision precision = train::Precision::kFp32;
  ops::KernelOptions kernels;  // train --kernels (ops/kernel_options.h)
  bool cuda_graph = false;     // train --cuda-graph
  bool tensorboard = true;     // false: train --no-tensorboard
  bool distribute_margins = false;
  // Also score a classifier on every run's embedding, and once per sweep
  // the baselines (the untrained network, log-mel statistics), all with
  // the same few-label protocol: K labels per class, D draws (K 0: every
  // label). The full-label probe is near its ceiling even with random
  // weights, so the default asks for few labels.
  bool classify = false;
  int classify_labels_per_class = 2;
  int classify_draws = 5;
  int rank = 0, world = 1;
  double wait_timeout_s = 7 * 24 * 3600.0;  // rank 0 waiting for the others' margins
  // Empty: each run trains in this process, one after another (jobs must be
  // 1); its log goes to this process's output.
  WorkerCommand worker_command;
  void validate() const;
};

Recommendation run_sweep(const study::Config& config, const std::string& out_dir,
                         const SweepOptions& options);

}  // namespace tessera::experiment
