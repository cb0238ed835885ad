// `tessera sweep`: one `tessera train` run per margin with otherwise
// identical hyperparameters (same seed, so the same initial weights and the
// same triplet order), into DIR/margin_<m>/, then the report.
// - The feature cache (DIR/cache) is filled once, before any margin trains.
// - Resumable: a finished margin is skipped; a partly trained one resumes
//   from its checkpoint.
// - jobs > 1 trains margins concurrently as child processes, splitting the
//   threads between them.
// - With world > 1 (torchrun variables) and distribute_margins, rank r
//   trains the margins r, r + world, ...; rank 0 writes the report once
//   every margin is complete.
#pragma once

#include <string>
#include <vector>

#include "tessera/common/config.h"
#include "tessera/experiment/report.h"

namespace tessera::experiment {

struct SweepOptions {
  std::vector<double> margins;  // empty: the config's margins
  std::vector<double> focus = {0.5, 0.7, 1.0};
  int jobs = 1;
  int threads = 0;  // total intra-op threads; 0: all cores
  std::string device = "cpu";
  std::string precision = "fp32";
  std::string kernels = "all";  // train --kernels (ops/kernel_options.h)
  bool tensorboard = true;      // false: train --no-tensorboard
  bool distribute_margins = false;
  bool classify = false;              // also run `tessera classify` on every margin
  int classify_labels_per_class = 0;  // its protocol: K labels per class (0: every label)
  int rank = 0, world = 1;
  double wait_timeout_s = 7 * 24 * 3600.0;  // rank 0 waiting for the others' margins
  std::vector<std::string> child_args;      // extra arguments for each `tessera train`
  void validate() const;
};

// The path of the running tessera binary, to start children with.
std::string self_executable();

Recommendation run_sweep(const common::Config& config, const std::string& out_dir,
                         const SweepOptions& options);

}  // namespace tessera::experiment
