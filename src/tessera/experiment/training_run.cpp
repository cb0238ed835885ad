#include "tessera/experiment/training_run.h"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include <c10/core/impl/VirtualGuardImpl.h>

#include "tessera/common/atomic_file.h"
#include "tessera/common/format.h"
#include "tessera/common/log.h"
#include "tessera/common/run_lock.h"
#include "tessera/common/temporary_files.h"
#include "tessera/common/threads.h"
#include "tessera/eval/epoch_evaluator.h"
#include "tessera/sampling/run_data.h"
#include "tessera/study/config_options.h"

namespace tessera::experiment {
namespace {

// The trainer's hooks into the process group.
void join_group(train::TrainerOptions& o, train::DistributedContext& ctx, const train::DistEnv& env,
                bool overlap_backward) {
  o.rank = env.rank;
  o.world = env.world;
  o.sync_parameters = [&ctx, overlap_backward](model::ResNet& net) {
    ctx.broadcast_module(*net);
    if (overlap_backward) ctx.overlap_gradients(*net);
  };
  o.sync_gradients = [&ctx](model::ResNet& net) { ctx.all_reduce_gradients(*net); };
  o.sync_buffers = [&ctx](model::ResNet& net) { ctx.broadcast_buffers(*net); };
  o.all_reduce_sum = [&ctx](std::vector<double>& v) { ctx.all_reduce_sum(v); };
}

}  // namespace

void TrainingRunOptions::validate() const {
  if (env.world < 1 || env.rank < 0 || env.rank >= env.world)
    throw std::invalid_argument("train: rank " + std::to_string(env.rank) +
                                " is not in a world of " + std::to_string(env.world));
  if (trainer.threads < 0) throw std::invalid_argument("train: --threads must be >= 0");
}

train::TrainSummary run_training(const study::Config& cfg, const std::string& run_dir,
                                 const TrainingRunOptions& options) {
  options.validate();
  if (run_dir.empty()) throw std::invalid_argument("train: no run directory given");
  common::make_dirs(run_dir);
  const train::DistEnv& env = options.env;
  train::TrainerOptions o = options.trainer;
  // torchrun restarted the group after a failure: carry on from the last
  // checkpoint (or start afresh if the first attempt wrote none).
  if (env.restart_count > 0 && !o.resume) {
    common::log_info("train: torchrun restart ", env.restart_count, ", resuming");
    o.resume = true;
  }
  if (o.device.rfind("cuda", 0) == 0 && torch::cuda::is_available()) {
    o.device = train::device_for_rank(o.device, env, int(torch::cuda::device_count()));
    // The process's current GPU: streams, NCCL and the caching allocator
    // follow it.
    const torch::Device device(o.device);
    if (device.has_index()) c10::impl::VirtualGuardImpl(device.type()).setDevice(device);
  }
  std::unique_ptr<train::DistributedContext> ctx;
  if (env.enabled()) {
    ctx = std::make_unique<train::DistributedContext>(env, options.dist, torch::Device(o.device));
    join_group(o, *ctx, env, options.dist.overlap_backward);
    common::log_info("train: rank ", env.rank, " of ", env.world, " (", ctx->backend(), ")");
  }
  // Only rank 0 writes, so only rank 0 holds the run directory's lock.
  std::unique_ptr<common::RunLock> lock;
  if (env.rank == 0) {
    lock = std::make_unique<common::RunLock>(run_dir);
    common::remove_orphaned_temporaries(run_dir);
    if (!cfg.cache_dir.empty()) common::remove_orphaned_temporaries(cfg.cache_dir);
  }
  const int threads = common::resolve_threads(o.threads);
  const int feature_threads = study::feature_threads(cfg, threads);
  // Rank 0 fills the feature cache; the others then map it.
  if (ctx && env.rank != 0) ctx->barrier();
  sampling::RunData data =
      sampling::RunData::load(study::run_data_options(cfg, run_dir), feature_threads);
  if (ctx && env.rank == 0) ctx->barrier();
  common::log_info("train: ", common::count_of((long long)data.train->size(), "training recording"),
                   " and ", common::count_of((long long)data.eval->size(), "eval recording"));
  eval::EpochEvaluator evaluator(study::evaluator_options(cfg), *data.eval, data.dataset.labels,
                                 run_dir, torch::Device(o.device));
  train::EpochEvalFn eval_fn;
  if (env.rank == 0) eval_fn = [&](model::ResNet& net, int epoch) { return evaluator(net, epoch); };
  train::Trainer trainer(study::training_options(cfg, o.world), run_dir, o, data, eval_fn);
  return trainer.run();
}

}  // namespace tessera::experiment
