#include "tessera/experiment/sweep.h"
#include "tessera/common/threads.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "tessera/common/atomic_file.h"
#include "tessera/common/format.h"
#include "tessera/common/log.h"
#include "tessera/common/process.h"
#include "tessera/experiment/classify.h"
#include "tessera/experiment/training_run.h"
#include "tessera/ops/kernel_options.h"
#include "tessera/sampling/run_data.h"
#include "tessera/study/config_options.h"
#include "tessera/train/train_step.h"

namespace tessera::experiment {
namespace fs = std::filesystem;
namespace {

bool margin_complete(const std::string& dir, int epochs) {
  try {
    const MarginRun r = read_margin_run(dir, 0);
    return r.epochs_done >= epochs;
  } catch (const std::exception&) {
    return false;
  }
}

std::string tail(const std::string& path, std::size_t bytes) {
  std::string s;
  try {
    s = common::read_file(path);
  } catch (const std::exception&) {
    return "";
  }
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

// One training of the sweep.
struct Job {
  double margin;
  std::int64_t seed;
  std::string dir;
  bool only_seed;  // the sweep has one seed per margin
  std::string name() const;
};

// Every (margin, seed) pair in order: margin by margin, seed by seed. A
// margin directory of the other layout (one seed against several) is an
// error, not a run to mix in.
std::vector<Job> list_jobs(const std::string& out_dir, const std::vector<double>& margins,
                           std::int64_t first_seed, int seeds) {
  std::vector<Job> jobs;
  for (double m : margins) {
    const std::string margin_dir = out_dir + "/" + margin_dir_name(m);
    const bool single_run_there = fs::exists(margin_dir + "/metrics/epochs.csv");
    bool seed_runs_there = false;
    if (fs::is_directory(margin_dir)) {
      for (const auto& e : fs::directory_iterator(margin_dir))
        seed_runs_there = seed_runs_there || e.path().filename().string().rfind("seed_", 0) == 0;
    }
    if (seeds == 1 && seed_runs_there) {
      throw std::invalid_argument("sweep: '" + margin_dir +
                                  "' holds runs of several seeds (seed_*/); continue it with the "
                                  "same --seeds, or give a new --out");
    }
    if (seeds > 1 && single_run_there) {
      throw std::invalid_argument("sweep: '" + margin_dir +
                                  "' holds a one-seed run; continue it with --seeds 1, or give a "
                                  "new --out");
    }
    for (int k = 0; k < seeds; ++k) {
      const std::int64_t seed = first_seed + k;
      jobs.push_back(
          {m, seed, seeds == 1 ? margin_dir : margin_dir + "/" + seed_dir_name(seed), seeds == 1});
    }
  }
  return jobs;
}

std::string Job::name() const {
  return "margin " + common::format_number(margin, "%g") +
         (only_seed ? "" : " seed " + std::to_string(seed));
}

// A run directory of the sweep: the sweep's config with this margin and
// seed, saved as `config_name`, and the sweep's split, so that every run
// reads the same files.
void prepare_run_dir(const study::Config& base, const std::string& out_dir, const std::string& dir,
                     double margin, std::int64_t seed, const std::string& config_name) {
  common::make_dirs(dir);
  study::Config c = base;
  c.margin = margin;
  c.random_seed = int(seed);
  c.save(dir + "/" + config_name);
  if (fs::exists(out_dir + "/split.json"))
    fs::copy_file(out_dir + "/split.json", dir + "/split.json",
                  fs::copy_options::overwrite_existing);
}

// The probe of `sweep --classify` on every run of this rank, and on rank 0
// the two baselines under the same protocol: the untrained network of each
// seed (DIR/baselines/untrained[/seed_<s>]) and log-mel statistics
// (DIR/baselines/logmel_stats). A report of this protocol is kept; another
// protocol's is redone.
template <typename Mine>
void classify_runs(const study::Config& base, const std::string& out_dir,
                   const std::vector<Job>& all, Mine mine, const SweepOptions& o, int threads) {
  ClassifyOptions co;
  co.device = o.device;
  co.threads = threads;
  co.labels_per_class = o.classify_labels_per_class;
  co.draws = o.classify_draws;
  auto classify = [&](const std::string& what) {
    if (classified_with(co.out, co)) return;
    common::log_info("sweep: classifying ", what);
    run_classify(co);
  };
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!mine(i)) continue;
    co.run_dir = all[i].dir;
    co.out = all[i].dir + "/classify";
    co.representation = Representation::kTrained;
    classify(all[i].name());
  }
  if (o.rank != 0) return;
  // A baseline's folder is a run directory without training: the sweep's
  // config (with the seed) and split, so that it reads the same data.
  auto baseline_dir = [&](const std::string& dir, std::int64_t seed) {
    prepare_run_dir(base, out_dir, dir, base.margin, seed, "config.json");
    co.run_dir = co.out = dir;
  };
  for (int k = 0; k < o.seeds; ++k) {
    const std::int64_t seed = std::int64_t(base.random_seed) + k;
    baseline_dir(out_dir + "/baselines/untrained" +
                     (o.seeds > 1 ? "/" + seed_dir_name(seed) : std::string()),
                 seed);
    co.representation = Representation::kRandomWeights;
    classify("the untrained network" + (o.seeds > 1 ? " of seed " + std::to_string(seed) : ""));
  }
  baseline_dir(out_dir + "/baselines/logmel_stats", base.random_seed);
  co.representation = Representation::kLogmelStats;
  classify("log-mel statistics");
}

const char* const kRunConfigName = "sweep_margin_config.json";

// Trains the runs in worker processes, `jobs` at a time; returns a message
// per failed run.
std::vector<std::string> train_in_workers(const std::vector<Job>& jobs_todo,
                                          const std::vector<SweepRun>& runs, int jobs,
                                          const SweepOptions& o) {
  struct Worker {
    pid_t pid;
    std::size_t index;
  };
  // A run of `--distribute margins` is a single-process training, not a
  // member of this rank's process group: the torchrun variables are
  // removed from its environment.
  common::SpawnOptions spawn;
  spawn.append = true;
  if (o.distribute_margins)
    spawn.unset_env = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"};
  std::vector<Worker> running;
  std::vector<std::string> failures;
  std::size_t next = 0;
  while (next < runs.size() || !running.empty()) {
    while (next < runs.size() && int(running.size()) < jobs) {
      const SweepRun& run = runs[next];
      spawn.output_path = run.run_dir + "/train.log";
      common::log_info("sweep: training ", jobs_todo[next].name(), " with ", run.threads,
                       " thread(s); log: ", spawn.output_path);
      running.push_back({common::spawn_process(o.worker_command(run, o), spawn), next++});
    }
    // Wait for the oldest worker, then collect any other that has ended.
    bool block = true;
    for (auto it = running.begin(); it != running.end(); block = false) {
      const common::ProcessExit e = common::wait_process(it->pid, block);
      if (!e.finished) {
        ++it;
        continue;
      }
      const Job& job = jobs_todo[it->index];
      if (e.ok()) {
        common::log_info("sweep: ", job.name(), " done");
      } else {
        failures.push_back(job.name() + " failed with status " + std::to_string(e.code) + " (see " +
                           job.dir + "/train.log):\n" + tail(job.dir + "/train.log", 600));
      }
      it = running.erase(it);
    }
  }
  return failures;
}

// Trains one run in this process; false when it was interrupted (its
// checkpoint is written).
bool train_here(const Job& job, const SweepRun& run, const SweepOptions& o) {
  TrainingRunOptions t;
  t.trainer.threads = run.threads;
  t.trainer.device = o.device;
  t.trainer.precision = o.precision;
  t.trainer.kernels = o.kernels;
  t.trainer.cuda_graph = o.cuda_graph;
  t.trainer.tensorboard = o.tensorboard;
  t.trainer.resume = true;
  common::log_info("sweep: training ", job.name(), " with ", run.threads, " thread(s)");
  const train::TrainSummary s = run_training(study::Config::load(run.config_path), run.run_dir, t);
  if (!s.interrupted) common::log_info("sweep: ", job.name(), " done");
  return !s.interrupted;
}

// Trains the runs still to do (in workers, or here one after another);
// returns a message per failed run.
std::vector<std::string> train_runs(const study::Config& base, const std::string& out_dir,
                                    const std::vector<Job>& todo, int total_threads,
                                    const SweepOptions& o) {
  const int jobs = std::max(1, std::min<int>(o.jobs, int(todo.size())));
  const int threads_each = std::max(1, total_threads / jobs);
  std::vector<SweepRun> runs;
  for (const Job& job : todo) {
    prepare_run_dir(base, out_dir, job.dir, job.margin, job.seed, kRunConfigName);
    runs.push_back({job.margin, job.seed, job.dir, job.dir + "/" + kRunConfigName, threads_each});
  }
  if (o.worker_command) return train_in_workers(todo, runs, jobs, o);
  std::vector<std::string> failures;
  for (std::size_t i = 0; i < todo.size(); ++i) {
    bool finished = false;
    try {
      finished = train_here(todo[i], runs[i], o);
    } catch (const std::exception& e) {
      failures.push_back(todo[i].name() + " failed: " + e.what());
      continue;
    }
    if (!finished) {
      throw std::runtime_error("sweep: interrupted while training " + todo[i].name() +
                               "; its checkpoint is written, and the same sweep resumes it");
    }
  }
  return failures;
}

}  // namespace

void SweepOptions::validate() const {
  if (jobs < 1) throw std::invalid_argument("sweep: --jobs must be >= 1");
  if (seeds < 1) throw std::invalid_argument("sweep: --seeds must be >= 1");
  for (double m : margins) {
    if (!(m > 0)) throw std::invalid_argument("sweep: every margin must be > 0");
  }
  if (world < 1 || rank < 0 || rank >= world)
    throw std::invalid_argument("sweep: bad RANK/WORLD_SIZE");
  if (classify_labels_per_class < 0)
    throw std::invalid_argument("sweep: labels per class must be >= 0");
  if (classify_draws < 1) throw std::invalid_argument("sweep: --classify-draws must be >= 1");
  if (jobs > 1 && !worker_command)
    throw std::invalid_argument("sweep: --jobs above 1 needs worker processes (a worker command)");
  kernels.validate();
  if (cuda_graph) {
    // Each run's step, as train would refuse it, before any run starts.
    train::StepOptions step;
    step.cuda_graph = true;
    step.validate(torch::Device(device));
  }
}

Recommendation run_sweep(const study::Config& config, const std::string& out_dir_in,
                         const SweepOptions& o) {
  o.validate();
  const std::string out_dir = fs::absolute(out_dir_in).string();
  common::make_dirs(out_dir);
  std::vector<double> margins = o.margins.empty() ? config.margins : o.margins;
  if (margins.empty()) throw std::invalid_argument("sweep: no margins given");
  study::Config base = config;
  if (base.cache_dir.empty()) base.cache_dir = out_dir + "/cache";
  base.save(out_dir + "/sweep_config.json");
  const int total_threads = common::resolve_threads(o.threads);

  // Fill the cache once (and fix the music split), so no margin computes features.
  {
    const auto t0 = std::chrono::steady_clock::now();
    sampling::RunData data = sampling::RunData::load(study::run_data_options(base, out_dir),
                                                     study::feature_threads(base, total_threads));
    common::log_info("sweep: feature cache ready in ", base.cache_dir, " (",
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                     " s; ", data.train->size(), " training recordings)");
  }

  const std::vector<Job> all = list_jobs(out_dir, margins, base.random_seed, o.seeds);
  auto mine = [&](std::size_t i) {
    return !o.distribute_margins || int(i % std::size_t(o.world)) == o.rank;
  };
  std::vector<Job> todo;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!mine(i)) continue;
    if (margin_complete(all[i].dir, base.epochs)) {
      common::log_info("sweep: ", all[i].name(), " is complete; skipped");
      continue;
    }
    todo.push_back(all[i]);
  }
  const std::vector<std::string> failures = train_runs(base, out_dir, todo, total_threads, o);
  if (!failures.empty()) {
    std::string msg = "sweep: " + std::to_string(failures.size()) + " run(s) failed";
    for (const auto& f : failures) msg += "\n" + f;
    throw std::runtime_error(msg);
  }
  if (o.classify) classify_runs(base, out_dir, all, mine, o, total_threads);
  if (o.rank != 0) return {};
  if (o.distribute_margins && o.world > 1) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(o.wait_timeout_s);
    for (const Job& job : all) {
      while (!margin_complete(job.dir, base.epochs)) {
        if (std::chrono::steady_clock::now() > deadline) {
          throw std::runtime_error("sweep: timed out waiting for " + job.name() +
                                   " from another rank");
        }
        std::this_thread::sleep_for(std::chrono::seconds(2));
      }
    }
  }
  ReportOptions ro;
  ro.focus = o.focus;
  ro.rule.min_active_fraction = base.min_active_fraction;
  ro.rule.max_satisfiable_margin = base.max_satisfiable_margin;
  ro.rule.cv_tie_tolerance = base.cv_tie_tolerance;
  return build_report(out_dir, ro);
}

}  // namespace tessera::experiment
