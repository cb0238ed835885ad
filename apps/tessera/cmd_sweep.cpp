// tessera sweep: the margin experiment. tessera report: rebuild its report.
#include <cstdlib>
#include <sstream>

#include "commands.h"
#include "config_args.h"
#include "device_option.h"
#include "step_flags.h"
#include "tessera/common/process.h"
#include "tessera/common/temporary_files.h"
#include "tessera/experiment/sweep.h"
#include "tessera/train/distributed.h"

namespace tessera::app {
namespace {

std::vector<double> parse_list(const std::string& text, const char* what) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0')
      throw std::invalid_argument(std::string(what) + ": '" + item + "' is not a number");
    out.push_back(v);
  }
  return out;
}

struct SweepArgs {
  ConfigArgs config;
  std::string out, margins, focus = "0.5,0.7,1", distribute;
  experiment::SweepOptions options;
};

// Each run of the sweep is a `tessera train` of this binary.
experiment::WorkerCommand train_command() {
  const std::string exe = common::self_executable();
  return [exe](const experiment::SweepRun& run, const experiment::SweepOptions& o) {
    std::vector<std::string> args = {exe,
                                     "train",
                                     "--config",
                                     run.config_path,
                                     "--run-dir",
                                     run.run_dir,
                                     "--resume",
                                     "--threads",
                                     std::to_string(run.threads),
                                     "--device",
                                     o.device,
                                     "--precision",
                                     train::precision_name(o.precision),
                                     "--kernels",
                                     o.kernels.describe()};
    if (!o.tensorboard) args.push_back("--no-tensorboard");
    if (o.cuda_graph) args.push_back("--cuda-graph");
    return args;
  };
}

void print_result(const experiment::Recommendation& rec, const std::string& dir) {
  std::printf("report: %s/report.html\n", dir.c_str());
  if (rec.found) {
    std::printf("recommended margin: %g\n%s\n", rec.margin, rec.reason.c_str());
  } else {
    std::printf("no margin recommended: %s\n", rec.reason.c_str());
  }
}

int run_sweep_cmd(SweepArgs& a) {
  study::Config cfg = load_config(a.config);
  if (!a.margins.empty()) a.options.margins = parse_list(a.margins, "--margins");
  a.options.focus = parse_list(a.focus, "--focus");
  if (a.distribute == "margins") {
    a.options.distribute_margins = true;
    // The same checked reading of torchrun's variables as training's: a
    // malformed or out-of-range RANK is an error, not rank 0.
    const train::DistEnv env = train::DistEnv::from_environment();
    a.options.rank = env.rank;
    a.options.world = env.world;
  }
  a.options.worker_command = train_command();
  // Rank 0 cleans up after crashed processes; other ranks' live files stay.
  if (a.options.rank == 0) common::remove_orphaned_temporaries(a.out);
  const auto rec = experiment::run_sweep(cfg, a.out, a.options);
  if (a.options.rank == 0) print_result(rec, a.out);
  return 0;
}

struct ReportArgs {
  std::string dir, focus = "0.5,0.7,1";
};

int run_report_cmd(const ReportArgs& a) {
  experiment::ReportOptions o;
  o.focus = parse_list(a.focus, "--focus");
  // The rule's thresholds come from the sweep's config when it has one.
  try {
    const study::Config c = study::Config::load(a.dir + "/sweep_config.json");
    o.rule.min_active_fraction = c.min_active_fraction;
    o.rule.max_satisfiable_margin = c.max_satisfiable_margin;
    o.rule.cv_tie_tolerance = c.cv_tie_tolerance;
  } catch (const std::runtime_error&) {
  }
  common::remove_orphaned_temporaries(a.dir);
  print_result(experiment::build_report(a.dir, o), a.dir);
  return 0;
}

}  // namespace

Command add_sweep_command(CLI::App& app) {
  auto a = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sweep", "the margin experiment: one training per margin, figures and report");
  a->config.add_to(cmd, true);
  cmd->add_option("--out,-o", a->out, "sweep directory (margin_<m>/, figures/, summary, report)")
      ->required();
  cmd->add_option("--margins", a->margins,
                  "comma-separated margins (default: the config's margins)");
  cmd->add_option("--focus", a->focus, "margins of the close-up loss figure (default 0.5,0.7,1)");
  cmd->add_option("--seeds", a->options.seeds,
                  "runs per margin, with the seeds random_seed, random_seed + 1, ... (default "
                  "1); from 2 on the summary gives every metric with a 95% interval and the "
                  "verdict names the margins tied with the winner")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--jobs", a->options.jobs,
                  "runs trained concurrently (threads are split between them)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", a->options.threads, "total intra-op threads (default: all cores)");
  add_device_option(cmd, a->options.device);
  add_precision_option(cmd, a->options.precision);
  add_kernels_option(cmd, a->options.kernels);
  cmd->add_flag("--cuda-graph", a->options.cuda_graph,
                "train each run with its step replayed from a CUDA graph (train --cuda-graph)");
  cmd->add_flag_callback(
      "--no-tensorboard", [a] { a->options.tensorboard = false; },
      "no TensorBoard event files (by default each margin's run directory has them, and "
      "the sweep directory is a log directory with one run per margin)");
  cmd->add_flag("--classify", a->options.classify,
                "also score a classifier on every run's embeddings, and on two baselines "
                "(the untrained network, log-mel statistics) with the same protocol");
  cmd->add_option("--classify-labels-per-class", a->options.classify_labels_per_class,
                  "with --classify: train it on K labelled recordings per class (classify "
                  "--labels-per-class; default 2; 0: every train label)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--classify-draws", a->options.classify_draws,
                  "with --classify: label subsets drawn, one classifier each (classify "
                  "--draws; default 5)")
      ->check(CLI::PositiveNumber);
  cmd->add_option(
         "--distribute", a->distribute,
         "'margins': spread whole runs (each margin and seed) over the ranks of RANK/WORLD_SIZE")
      ->check(CLI::IsMember({"margins"}));
  return {cmd, [a] { return run_sweep_cmd(*a); }};
}

Command add_report_command(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report", "rebuild a sweep's figures, summary and report without training");
  cmd->add_option("--sweep-dir", a->dir, "the sweep directory")->required();
  cmd->add_option("--focus", a->focus, "margins of the close-up loss figure");
  return {cmd, [a] { return run_report_cmd(*a); }};
}

}  // namespace tessera::app
