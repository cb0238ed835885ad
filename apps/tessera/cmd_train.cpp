// tessera train: one embedding space (the original train_triplet_loss).
#include <filesystem>
#include <thread>

#include "commands.h"
#include "config_args.h"
#include "device_option.h"
#include "kernels_option.h"
#include "run_lock.h"
#include "tessera/common/atomic_file.h"
#include "tessera/common/format.h"
#include "tessera/common/log.h"
#include "tessera/common/temporary_files.h"
#include "tessera/common/threads.h"
#include "tessera/eval/epoch_evaluator.h"
#include "tessera/train/distributed.h"
#include "tessera/train/trainer.h"

namespace tessera::app {
namespace {

struct TrainArgs {
  ConfigArgs config;
  std::string run_dir;
  train::TrainerOptions options;
  train::DistOptions dist;
};

int run_train(TrainArgs& a) {
  common::Config cfg = load_config(a.config);
  if (a.run_dir.empty()) a.run_dir = cfg.saved_model_path;
  if (a.run_dir.empty())
    throw std::invalid_argument("train: give --run-dir (or saved_model_path in the config)");
  common::make_dirs(a.run_dir);
  // torchrun's variables make this one rank of a data-parallel run.
  const train::DistEnv env = train::DistEnv::from_environment();
  std::unique_ptr<train::DistributedContext> ctx;
  // torchrun restarted the group after a failure: carry on from the last
  // checkpoint (or start afresh if the first attempt wrote none).
  if (env.restart_count > 0 && !a.options.resume) {
    common::log_info("train: torchrun restart ", env.restart_count, ", resuming");
    a.options.resume = true;
  }
  if (env.enabled()) {
    if (env.rank != 0) common::set_log_level(common::LogLevel::kWarning);
    ctx = std::make_unique<train::DistributedContext>(env, a.dist, torch::Device(a.options.device));
    a.options.rank = env.rank;
    a.options.world = env.world;
    a.options.sync_parameters = [&](model::ResNet& net) { ctx->broadcast_module(*net); };
    a.options.sync_gradients = [&](model::ResNet& net) { ctx->all_reduce_gradients(*net); };
    a.options.sync_buffers = [&](model::ResNet& net) { ctx->broadcast_buffers(*net); };
    a.options.all_reduce_sum = [&](std::vector<double>& v) { ctx->all_reduce_sum(v); };
    common::log_info("train: rank ", env.rank, " of ", env.world, " (", ctx->backend(), ")");
  }
  // Only rank 0 writes, so only rank 0 holds the run directory's lock.
  std::unique_ptr<RunLock> lock;
  if (env.rank == 0) {
    lock = std::make_unique<RunLock>(a.run_dir);
    common::remove_orphaned_temporaries(a.run_dir);
    if (!cfg.cache_dir.empty()) common::remove_orphaned_temporaries(cfg.cache_dir);
  }
  train::Trainer::install_signal_handlers();
  const int threads = common::resolve_threads(a.options.threads);
  const int feature_threads = std::min(threads * 2, cfg.num_parallel_calls);
  // Rank 0 fills the feature cache; the others then map it.
  if (ctx && env.rank != 0) ctx->barrier();
  train::RunData data = train::RunData::load(cfg, a.run_dir, feature_threads);
  if (ctx && env.rank == 0) ctx->barrier();
  common::log_info("train: ", common::count_of((long long)data.train->size(), "training recording"),
                   " and ", common::count_of((long long)data.eval->size(), "eval recording"));
  eval::EpochEvaluator evaluator(cfg, *data.eval, data.dataset.labels, a.run_dir,
                                 torch::Device(a.options.device));
  train::EpochEvalFn eval_fn;
  if (env.rank == 0) eval_fn = [&](model::ResNet& net, int epoch) { return evaluator(net, epoch); };
  train::Trainer trainer(cfg, a.run_dir, a.options, data, eval_fn);
  const train::TrainSummary s = trainer.run();
  if (s.interrupted) {
    std::fprintf(stderr,
                 "interrupted: checkpoint written; continue with: tessera train --config %s "
                 "--run-dir %s --resume\n",
                 (a.run_dir + "/config.json").c_str(), a.run_dir.c_str());
    return 130;
  }
  std::printf("%s: %s, %s, %s, %.1f triplets/s\n", a.run_dir.c_str(),
              common::count_of(s.epochs_run, "epoch").c_str(),
              common::count_of(s.steps, "step").c_str(), common::duration(s.seconds).c_str(),
              s.triplets_per_second);
  return 0;
}

}  // namespace

void add_trainer_flags(CLI::App* cmd, train::TrainerOptions& o) {
  cmd->add_option("--threads", o.threads, "intra-op threads (default: all cores)");
  add_device_option(cmd, o.device);
  cmd->add_option("--precision", o.precision, "fp32, or bf16 mixed precision")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  cmd->add_option("--layout", o.layout, "auto (bf16 convolutions on NHWC activations) or nchw")
      ->check(CLI::IsMember({"auto", "nchw"}));
  add_kernels_option(cmd, o.kernels);
  cmd->add_flag_callback(
      "--no-tensorboard", [&o] { o.tensorboard = false; },
      "write no TensorBoard event files (<run dir>/tensorboard/)");
}

Command add_train_command(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "train one embedding space with the triplet loss");
  a->config.add_to(cmd, true);
  cmd->add_option("--run-dir", a->run_dir, "run directory (config, metrics, eval, checkpoints)");
  cmd->add_flag("--resume", a->options.resume,
                "continue from the run directory's latest checkpoint");
  add_trainer_flags(cmd, a->options);
  cmd->add_option("--dist-backend", a->dist.backend,
                  "gloo, nccl or auto (with RANK/WORLD_SIZE set)")
      ->check(CLI::IsMember({"gloo", "nccl", "auto"}));
  cmd->add_option("--dist-timeout", a->dist.timeout_s, "seconds before a lost peer ends the run")
      ->check(CLI::PositiveNumber);
  return {cmd, [a] { return run_train(*a); }};
}

}  // namespace tessera::app
