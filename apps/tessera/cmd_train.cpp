// tessera train: one embedding space (the original train_triplet_loss).
#include "commands.h"
#include "config_args.h"
#include "device_option.h"
#include "step_flags.h"
#include "tessera/common/format.h"
#include "tessera/common/log.h"
#include "tessera/experiment/training_run.h"

namespace tessera::app {
namespace {

struct TrainArgs {
  ConfigArgs config;
  std::string run_dir;
  experiment::TrainingRunOptions run;
};

int run_train(TrainArgs& a) {
  const study::Config cfg = load_config(a.config);
  if (a.run_dir.empty()) a.run_dir = cfg.saved_model_path;
  if (a.run_dir.empty())
    throw std::invalid_argument("train: give --run-dir (or saved_model_path in the config)");
  // torchrun's variables make this one rank of a data-parallel run.
  a.run.env = train::DistEnv::from_environment();
  if (a.run.env.rank != 0) common::set_log_level(common::LogLevel::kWarning);
  train::Trainer::install_signal_handlers();
  const train::TrainSummary s = experiment::run_training(cfg, a.run_dir, a.run);
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
  add_precision_option(cmd, o.precision);
  add_layout_option(cmd, o.layout, /*with_nhwc=*/false);
  add_kernels_option(cmd, o.kernels);
  cmd->add_option("--kernel-plan", o.kernel_plan,
                  "start from this conv plan (another run's kernel_plan.json): its layer shapes "
                  "take its computations instead of being tuned")
      ->check(CLI::ExistingFile);
  add_adam_option(cmd, o.adam);
  cmd->add_flag("--cuda-graph", o.cuda_graph,
                "capture the training step in a CUDA graph after a few steps and replay it "
                "(a GPU, one process)");
  cmd->add_flag_callback(
      "--no-tensorboard", [&o] { o.tensorboard = false; },
      "write no TensorBoard event files (<run dir>/tensorboard/)");
}

Command add_train_command(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "train one embedding space with the triplet loss");
  a->config.add_to(cmd, true);
  cmd->add_option("--run-dir", a->run_dir, "run directory (config, metrics, eval, checkpoints)");
  cmd->add_flag("--resume", a->run.trainer.resume,
                "continue from the run directory's latest checkpoint");
  add_trainer_flags(cmd, a->run.trainer);
  cmd->add_option("--dist-backend", a->run.dist.backend,
                  "gloo, nccl or auto (with RANK/WORLD_SIZE set)")
      ->check(CLI::IsMember({"gloo", "nccl", "auto"}));
  cmd->add_option("--dist-timeout", a->run.dist.timeout_s,
                  "seconds before a lost peer ends the run")
      ->check(CLI::PositiveNumber);
  return {cmd, [a] { return run_train(*a); }};
}

}  // namespace tessera::app
