#include "tessera/train/trainer.h"
#include "tessera/common/threads.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <deque>
#include <filesystem>
#include <thread>

#include "tessera/common/atomic_file.h"
#include "tessera/common/csv_log.h"
#include "tessera/common/format.h"
#include "tessera/common/json_text.h"
#include "tessera/common/log.h"
#include "tessera/common/progress.h"
#include "tessera/device/device_feeder.h"
#include "tessera/device/device_idle.h"
#include "tessera/sampling/batch_pipeline.h"
#include "tessera/train/checkpoint.h"
#include "tessera/train/input_standardisation.h"
#include "tessera/train/module_digest.h"
#include "tessera/train/tensorboard_log.h"

namespace tessera::train {
namespace fs = std::filesystem;
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

const std::vector<std::string> kStepColumns = {
    "step",          "epoch",           "loss", "triplet_loss", "reg_loss", "dist_neighbour",
    "dist_opposite", "active_fraction", "lr",   "seconds"};
const std::vector<std::string> kEpochColumns = {"epoch",
                                                "train_loss",
                                                "train_triplet_loss",
                                                "eval_triplet_loss",
                                                "eval_dist_neighbour",
                                                "eval_dist_opposite",
                                                "eval_active_fraction",
                                                "silhouette",
                                                "centroid_cv",
                                                "precision_at_1",
                                                "r_precision",
                                                "map_at_r",
                                                "nmi"};

void on_signal(int) {
  Trainer::stop_requested() = true;
}

double staircase_lr(const TrainingOptions& t, std::int64_t step) {
  return t.learning_rate * std::pow(t.lr_decay_rate, double(step / t.lr_decay_steps));
}

void set_lr(torch::optim::Adam& adam, double lr) {
  for (auto& group : adam.param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
}

}  // namespace

void TrainingOptions::validate() const {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("train: " + what);
  };
  require(epochs >= 1, "epochs (" + std::to_string(epochs) + ") must be >= 1");
  require(batch_size >= 1, "batch_size (" + std::to_string(batch_size) + ") must be >= 1");
  require(learning_rate > 0 && std::isfinite(learning_rate), "learning_rate must be > 0");
  require(lr_decay_rate > 0 && std::isfinite(lr_decay_rate), "lr_decay_rate must be > 0");
  require(lr_decay_steps >= 1, "lr_decay_steps must be >= 1");
  require(l2_amount >= 0 && std::isfinite(l2_amount), "l2_amount must be >= 0");
  require(log_every >= 1, "log_every must be >= 1");
  require(save_frequency >= 1, "save_frequency must be >= 1");
  model.validate();
  sampler.validate();
  objective.validate();
  augment.validate();
}

std::atomic<bool>& Trainer::stop_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

void Trainer::install_signal_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

Trainer::Trainer(TrainingOptions training, std::string run_dir, TrainerOptions options,
                 sampling::RunData& data, EpochEvalFn eval)
    : training_(std::move(training)),
      run_dir_(std::move(run_dir)),
      options_(std::move(options)),
      data_(data),
      eval_(std::move(eval)) {}

namespace {

// Where an epoch stands: batches done (counting those skipped on resume),
// batches counted in its means, and the running sums. A checkpoint taken
// mid-epoch stores it, so the epoch's mean after a resume covers the whole
// epoch.
struct EpochProgress {
  std::size_t batches = 0, counted = 0;
  double loss_sum = 0, triplet_sum = 0;
};

// One call of Trainer::run: the model, optimiser, logs and counters, and the
// run's steps (start or resume, epochs of batches, evaluation, checkpoints,
// the timing file) as methods.
class TrainingSession {
 public:
  TrainingSession(const TrainingOptions& training, const std::string& run_dir,
                  const TrainerOptions& options, sampling::RunData& data, const EpochEvalFn& eval,
                  nlohmann::json fingerprint);
  TrainSummary run();

 private:
  void start_or_resume();
  void open_logs();
  std::vector<sampling::TripletSpec> epoch_triplets(int epoch, std::size_t skip_batches) const;
  // Trains one epoch; false when a stop was requested (the checkpoint is written).
  bool train_epoch(int epoch);
  // Reads the queued steps' metrics back in one go and logs them. Returns
  // whether a stop was requested: with several ranks, on any of them (the
  // flag travels with the metrics' all-reduce, so all ranks stop after the
  // same step); with one, `stop_here`.
  bool read_back(int epoch, EpochProgress& p, common::Progress& bar, std::size_t skipped,
                 bool stop_here);
  // Returns whether any rank asked to stop.
  bool reduce_over_ranks(std::vector<StepResult>& rs, bool stop_here) const;
  void end_epoch(int epoch, const EpochProgress& p, double epoch_seconds);
  // With several ranks: every rank's network digest after the epoch, which
  // must agree; rank 0 records them in metrics/ranks.json.
  void check_ranks_agree(int epoch);
  void checkpoint(int epochs_done, const EpochProgress& p);
  void write_timing() const;
  void save_plan() const;
  // Hands a batch to the feeder (with its recording ids when needed).
  void push(device::DeviceFeeder& feeder, sampling::TripletBatch& batch);

  const TrainingOptions& training_;
  const std::string& run_dir_;
  const TrainerOptions& options_;
  sampling::RunData& data_;
  const EpochEvalFn& eval_;
  const nlohmann::json fingerprint_;
  const bool writer_;
  const std::string metrics_dir_, ckpt_dir_;
  const int threads_;
  const torch::Device device_;
  model::ResNet net_{nullptr};
  std::unique_ptr<torch::optim::Adam> adam_;
  StepOptions step_options_;
  std::unique_ptr<StepRunner> runner_;
  sampling::TripletSampler sampler_;
  sampling::PipelineOptions pipeline_;
  std::shared_ptr<sampling::BufferPool> host_blocks_;
  std::size_t metrics_every_ = 1;
  // Steps queued and not yet read back, with their learning rates, and the
  // host's time in them so far.
  struct QueuedStep {
    StepMetrics metrics;
    double lr = 0;
    int size = 0;
  };
  std::vector<QueuedStep> queued_;
  // The objective draws negatives from the whole batch: each pushed batch's
  // [3B] recording ids, oldest first, popped with its tiles.
  bool needs_recordings_ = false;
  std::deque<torch::Tensor> recordings_;
  double queued_seconds_ = 0;
  // Made once the device is known to be usable (its constructor asks it).
  std::unique_ptr<device::DeviceIdleMeter> idle_;
  common::CsvLog steps_csv_, epochs_csv_;
  std::unique_ptr<TensorBoardLog> board_;
  bool resumed_ = false;
  int start_epoch_ = 1;
  std::int64_t step_ = 0;
  EpochProgress resumed_progress_;  // of the epoch a resume continues
  TrainSummary summary_;
};

TrainingSession::TrainingSession(const TrainingOptions& training, const std::string& run_dir,
                                 const TrainerOptions& options, sampling::RunData& data,
                                 const EpochEvalFn& eval, nlohmann::json fingerprint)
    : training_(training),
      run_dir_(run_dir),
      options_(options),
      data_(data),
      eval_(eval),
      fingerprint_(std::move(fingerprint)),
      writer_(options.rank == 0),
      metrics_dir_(run_dir + "/metrics"),
      ckpt_dir_(run_dir + "/checkpoints"),
      threads_(common::resolve_threads(options.threads)),
      device_(options.device),
      sampler_(training.sampler),
      pipeline_(training.pipeline) {
  training_.validate();
  if (device_.is_cuda() && !torch::cuda::is_available()) {
    throw std::runtime_error(
        "train: --device cuda was given, but this LibTorch has no CUDA or sees no GPU");
  }
  step_options_.precision = options_.precision;
  step_options_.layout = options_.layout;
  step_options_.adam = options_.adam;
  step_options_.cuda_graph = options_.cuda_graph;
  step_options_.validate(device_);
  if (step_options_.cuda_graph && options_.world > 1) {
    throw std::invalid_argument(
        "train: --cuda-graph runs one process (a graph cannot capture the gradient all-reduce)");
  }
  if (training_.batch_size % options_.world != 0) {
    throw std::invalid_argument("train: batch_size (" + std::to_string(training_.batch_size) +
                                ") must divide evenly over " + std::to_string(options_.world) +
                                " processes");
  }
  pipeline_.batch_size = training_.batch_size / options_.world;
  // Every rank must run the same number of steps: drop a ragged last batch.
  pipeline_.drop_last = options_.world > 1;
  const auto probe = sampler_.sample(data_.train->tile_counts(), 1);
  if (probe.size() < std::size_t(training_.batch_size)) {
    throw std::invalid_argument("config: batch_size (" + std::to_string(training_.batch_size) +
                                ") exceeds the " + std::to_string(probe.size()) +
                                " training triplets of an epoch; lower batch_size or add data");
  }
  // Read before anything is written: a plan that cannot be used leaves the
  // run directory as it was.
  std::unique_ptr<ops::ConvPlan> given_plan;
  if (!options_.kernel_plan.empty()) {
    given_plan = std::make_unique<ops::ConvPlan>(ops::ConvPlan::load(options_.kernel_plan));
  }
  if (writer_) {
    common::make_dirs(metrics_dir_);
    common::write_file_atomic(run_dir_ + "/config.json",
                              common::dump_json(training_.record, 2) + "\n");
  }
  torch::set_num_threads(threads_);
  // The same seed gives every margin of a sweep the same initial weights.
  torch::manual_seed(training_.seed);
  model::ResNetOptions model_options = training_.model;
  model_options.kernels = options_.kernels;
  net_ = model::ResNet(model_options);
  if (given_plan) net_->conv_plan().assign(*given_plan);
  net_->to(device_);
  adam_ = std::make_unique<torch::optim::Adam>(net_->parameters(),
                                               torch::optim::AdamOptions(training_.learning_rate));
  const loss::ObjectiveOptions& objective = training_.objective;
  needs_recordings_ = objective.kind != loss::ObjectiveKind::kTriplet;
  runner_ = std::make_unique<StepRunner>(net_, *adam_, loss::Objective(objective),
                                         training_.l2_amount, device_, step_options_);
  pipeline_.augment = training_.augment;
  pipeline_.seed = training_.seed;
  if (options_.sync_gradients) runner_->after_backward = [this] { options_.sync_gradients(net_); };
  if (options_.metrics_every < 0) {
    throw std::invalid_argument("train: metrics_every must be >= 0");
  }
  metrics_every_ = std::size_t(options_.metrics_every > 0 ? options_.metrics_every
                               : device_.is_cpu()         ? 1
                                                          : std::max(1, training_.log_every));
  idle_ = std::make_unique<device::DeviceIdleMeter>(device_);
  host_blocks_ =
      sampling::BufferPool::create(pipeline_.batch_floats(data_.train->geometry().tile_floats()),
                                   device::DeviceFeeder::host_allocator(device_));
}

void TrainingSession::start_or_resume() {
  const auto checkpoints = list_checkpoints(ckpt_dir_);
  resumed_ = options_.resume && !checkpoints.empty();
  if (resumed_) {
    const CheckpointState st =
        load_checkpoint(checkpoints.back(), net_.get(), adam_.get(), fingerprint_);
    step_ = st.step;
    start_epoch_ = st.epoch + 1;
    resumed_progress_.batches = st.meta.value("batch_in_epoch", std::size_t(0));
    resumed_progress_.loss_sum = st.meta.value("epoch_loss_sum", 0.0);
    resumed_progress_.triplet_sum = st.meta.value("epoch_triplet_sum", 0.0);
    resumed_progress_.counted = st.meta.value("epoch_batches", std::size_t(0));
    // The computations the run took so far, whatever --kernel-plan says.
    const std::string plan = run_dir_ + "/kernel_plan.json";
    if (fs::exists(plan)) net_->conv_plan().assign(ops::ConvPlan::load(plan));
    if (writer_) {
      common::CsvLog::truncate(metrics_dir_ + "/train_steps.csv", double(step_));
      common::CsvLog::truncate(metrics_dir_ + "/epochs.csv", double(st.epoch));
    }
    const std::size_t in_epoch = resumed_progress_.batches;
    common::log_info(
        "resuming from ", checkpoints.back(), " (epoch ", st.epoch, " done, step ", step_,
        in_epoch ? ", " + std::to_string(in_epoch) + " batches into the next epoch" : std::string(),
        ")");
  } else if (!checkpoints.empty()) {
    throw std::runtime_error("train: '" + run_dir_ +
                             "' already holds checkpoints; pass --resume to continue it "
                             "or choose another --run-dir");
  } else if (writer_) {
    // A fresh run starts fresh metrics.
    std::error_code ec;
    fs::remove(metrics_dir_ + "/train_steps.csv", ec);
    fs::remove(metrics_dir_ + "/epochs.csv", ec);
    fs::remove(run_dir_ + "/kernel_plan.json", ec);
  }
  // A resumed run's statistics come with its checkpoint's buffers.
  if (!resumed_ && training_.model.input_normalisation == "dataset") {
    standardise_input(*net_, *data_.train, writer_ ? run_dir_ + "/input_stats.json" : "");
  }
  if (options_.sync_parameters) options_.sync_parameters(net_);
}

void TrainingSession::push(device::DeviceFeeder& feeder, sampling::TripletBatch& batch) {
  if (needs_recordings_) {
    const std::vector<std::uint32_t> ids = batch.view_recordings();
    recordings_.push_back(
        torch::tensor(std::vector<std::int64_t>(ids.begin(), ids.end()), torch::kInt64));
  }
  feeder.push(std::move(batch));
}

void TrainingSession::open_logs() {
  if (!writer_) return;
  steps_csv_ = common::CsvLog(metrics_dir_ + "/train_steps.csv", kStepColumns);
  epochs_csv_ = common::CsvLog(metrics_dir_ + "/epochs.csv", kEpochColumns);
  if (options_.tensorboard) {
    board_ = std::make_unique<TensorBoardLog>(run_dir_, resumed_ ? step_ : -1,
                                              common::dump_json(training_.record, 2));
  }
}

// The epoch's triplets for this rank, without the batches a resume skips.
std::vector<sampling::TripletSpec> TrainingSession::epoch_triplets(int epoch,
                                                                   std::size_t skip_batches) const {
  auto specs = sampler_.sample(data_.train->tile_counts(), epoch);
  if (options_.world > 1) {
    // Every rank must run the same number of steps: keep a whole number of
    // global batches, then take this rank's disjoint shard.
    const std::size_t global = std::size_t(pipeline_.batch_size) * std::size_t(options_.world);
    specs.resize(specs.size() - specs.size() % global);
    specs = sampling::shard(specs, options_.rank, options_.world);
  }
  const std::size_t skip = std::min(specs.size(), skip_batches * std::size_t(pipeline_.batch_size));
  specs.erase(specs.begin(), specs.begin() + skip);
  return specs;
}

// Sums over ranks, then means of the global batch: one all-reduce for all
// the steps read back together, and the ranks' stop requests with them.
bool TrainingSession::reduce_over_ranks(std::vector<StepResult>& rs, bool stop_here) const {
  constexpr std::size_t kSums = 6;
  std::vector<double> v;
  for (const StepResult& r : rs) {
    v.insert(v.end(), {r.loss * r.count, r.triplet_loss * r.count, r.dist_neighbour * r.count,
                       r.dist_opposite * r.count, double(r.active), double(r.count)});
  }
  v.push_back(stop_here ? 1.0 : 0.0);
  options_.all_reduce_sum(v);
  const bool stop_anywhere = v.back() > 0;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const double* s = v.data() + i * kSums;
    StepResult& r = rs[i];
    r.loss = s[0] / s[5];
    r.triplet_loss = s[1] / s[5];
    r.dist_neighbour = s[2] / s[5];
    r.dist_opposite = s[3] / s[5];
    r.active_fraction = s[4] / s[5];
    r.count = std::int64_t(s[5]);
  }
  return stop_anywhere;
}

bool TrainingSession::read_back(int epoch, EpochProgress& p, common::Progress& bar,
                                std::size_t skipped, bool stop_here) {
  if (queued_.empty()) return stop_here;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<StepMetrics> metrics;
  for (const QueuedStep& q : queued_) metrics.push_back(q.metrics);
  std::vector<StepResult> rs = read_metrics(metrics);
  const double window = queued_seconds_ + seconds_since(t0);
  idle_->collect();
  const bool stop = options_.all_reduce_sum ? reduce_over_ranks(rs, stop_here) : stop_here;
  summary_.step_seconds += window;
  const double secs = window / double(rs.size());
  const std::int64_t first_step = step_ - std::int64_t(rs.size()) + 1;
  const bool progress_bar = writer_ && common::Progress::enabled();
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const StepResult& r = rs[i];
    const std::int64_t step = first_step + std::int64_t(i);
    const double lr = queued_[i].lr;
    if (!std::isfinite(r.loss)) {
      const auto cks = list_checkpoints(ckpt_dir_);
      throw NonFiniteLoss("train: the loss became " + std::to_string(r.loss) + " at step " +
                          std::to_string(step) + " (epoch " + std::to_string(epoch) + "); " +
                          (cks.empty() ? "no checkpoint was written yet"
                                       : "the last good checkpoint is '" + cks.back() + "'"));
    }
    ++p.counted;
    summary_.triplets += r.count ? r.count : queued_[i].size;
    p.loss_sum += r.loss;
    p.triplet_sum += r.triplet_loss;
    if (!writer_) continue;
    steps_csv_.row({double(step), double(epoch), r.loss, r.triplet_loss, r.reg_loss,
                    r.dist_neighbour, r.dist_opposite, r.active_fraction, lr, secs});
    if (board_) board_->step(step, r, lr);
    char extra[160];
    std::snprintf(extra, sizeof extra, "loss %.4f active %.2f %.1f triplets/s", r.loss,
                  r.active_fraction, r.count / std::max(secs, 1e-9));
    if (progress_bar && i + 1 == rs.size())
      bar.update(p.batches - skipped, extra);
    else if (!progress_bar && step % training_.log_every == 0)
      common::log_info("epoch ", epoch, " step ", step, " ", extra);
  }
  queued_.clear();
  queued_seconds_ = 0;
  return stop;
}

bool TrainingSession::train_epoch(int epoch) {
  EpochProgress p = epoch == start_epoch_ ? resumed_progress_ : EpochProgress{};
  recordings_.clear();
  const std::size_t skipped = p.batches;
  sampling::PipelineOptions options = pipeline_;
  options.epoch = epoch;
  sampling::BatchPipeline pipeline(*data_.train, epoch_triplets(epoch, skipped), options,
                                   host_blocks_);
  const auto& g = data_.geometry;
  device::DeviceFeeder feeder(device_, {g.channels, g.tile_frames, g.bins});
  common::Progress bar("epoch " + std::to_string(epoch) + "/" + std::to_string(training_.epochs),
                       pipeline.batches());
  const auto epoch_start = std::chrono::steady_clock::now();
  sampling::TripletBatch batch;
  bool stopped = false;
  idle_->begin_loop();
  if (pipeline.next(batch)) push(feeder, batch);
  while (feeder.pending() > 0) {
    const double lr = staircase_lr(training_, step_);
    const auto t0 = std::chrono::steady_clock::now();
    set_lr(*adam_, lr);
    const torch::Tensor tiles = feeder.pop();
    torch::Tensor recordings;
    if (needs_recordings_) {
      recordings = recordings_.front();
      recordings_.pop_front();
    }
    idle_->step_begins();
    queued_.push_back({runner_->run(tiles, recordings), lr, int(tiles.size(0) / 3)});
    idle_->step_ends();
    feeder.release();
    queued_seconds_ += seconds_since(t0);
    ++step_;
    ++p.batches;
    // The next batch's copy overlaps the step just queued.
    if (pipeline.next(batch)) push(feeder, batch);
    // Every rank reads back after the same steps (they run equally many), so
    // a stop asked of any one rank is seen by all at the same read-back. One
    // process stops after the step it was asked in.
    const bool stop_here = Trainer::stop_requested();
    const bool window_full = queued_.size() >= metrics_every_ || feeder.pending() == 0;
    if (window_full || (stop_here && !options_.all_reduce_sum)) {
      stopped = read_back(epoch, p, bar, skipped, stop_here);
    }
    if (stopped) break;
  }
  bar.finish();
  summary_.loop_seconds += seconds_since(epoch_start);
  summary_.data_wait_seconds += pipeline.wait_seconds();
  if (stopped) {
    checkpoint(epoch - 1, p);
    return false;
  }
  end_epoch(epoch, p, seconds_since(epoch_start));
  if (epoch % training_.save_frequency == 0 || epoch == training_.epochs) checkpoint(epoch, {});
  return true;
}

// The evaluation, the epoch's row of epochs.csv and TensorBoard's scalars.
void TrainingSession::check_ranks_agree(int epoch) {
  if (options_.world < 2 || !options_.all_reduce_sum) return;
  const std::vector<std::uint64_t> digests =
      gather_digests(module_digest(*net_), options_.rank, options_.world, options_.all_reduce_sum);
  nlohmann::json hex = nlohmann::json::array();
  bool identical = true;
  for (const std::uint64_t d : digests) {
    hex.push_back(digest_hex(d));
    identical = identical && d == digests[0];
  }
  if (writer_) {
    const nlohmann::json record = {
        {"epoch", epoch}, {"world", options_.world}, {"digests", hex}, {"identical", identical}};
    common::write_file_atomic(metrics_dir_ + "/ranks.json", common::dump_json(record, 2) + "\n");
  }
  if (!identical) {
    throw std::runtime_error("train: after epoch " + std::to_string(epoch) +
                             " the ranks hold different networks (digests " + hex.dump() +
                             "); the data-parallel updates diverged");
  }
}

void TrainingSession::end_epoch(int epoch, const EpochProgress& p, double epoch_seconds) {
  if (options_.sync_buffers) options_.sync_buffers(net_);
  check_ranks_agree(epoch);
  const auto eval_start = std::chrono::steady_clock::now();
  const EpochEval ev = eval_ ? eval_(net_, epoch) : EpochEval{};
  summary_.eval_seconds += seconds_since(eval_start);
  if (!writer_) return;
  const double n = std::max<std::size_t>(p.counted, 1);
  const std::vector<double> row = {double(epoch),
                                   p.loss_sum / n,
                                   p.triplet_sum / n,
                                   ev.triplet_loss,
                                   ev.dist_neighbour,
                                   ev.dist_opposite,
                                   ev.active_fraction,
                                   ev.silhouette,
                                   ev.centroid_cv,
                                   ev.precision_at_1,
                                   ev.r_precision,
                                   ev.map_at_r,
                                   ev.nmi};
  epochs_csv_.row(row);
  if (board_) board_->epoch(step_, kEpochColumns, row, ev);
  common::log_info("epoch ", epoch, ": train loss ", p.loss_sum / n, ", eval loss ",
                   ev.triplet_loss, ", active ", ev.active_fraction, ", silhouette ", ev.silhouette,
                   ", centroid_cv ", ev.centroid_cv, " (",
                   common::duration(epoch_seconds + seconds_since(eval_start)), ")");
}

void TrainingSession::checkpoint(int epochs_done, const EpochProgress& p) {
  if (!writer_ || !training_.save_model) return;
  const auto t0 = std::chrono::steady_clock::now();
  CheckpointState st;
  st.epoch = epochs_done;
  st.step = step_;
  st.meta = fingerprint_;
  st.meta["batch_in_epoch"] = p.batches;
  st.meta["epoch_loss_sum"] = p.loss_sum;
  st.meta["epoch_triplet_sum"] = p.triplet_sum;
  st.meta["epoch_batches"] = p.counted;
  save_plan();  // before the checkpoint, so no checkpoint is without its plan
  const std::string path = save_checkpoint(ckpt_dir_, st, *net_, *adam_, 3);
  common::log_debug("checkpoint ", path);
  summary_.checkpoint_seconds += seconds_since(t0);
}

void TrainingSession::save_plan() const {
  if (writer_ && !net_->conv_plan().empty()) net_->conv_plan().save(run_dir_ + "/kernel_plan.json");
}

void TrainingSession::write_timing() const {
  if (!writer_) return;
  const TrainSummary& s = summary_;
  // triplets_per_second counts the whole run (evaluation and checkpoints
  // included); loop_triplets_per_second is the epochs' throughput and
  // step_triplets_per_second the training step's alone. Their gap is the
  // time lost to the data pipeline.
  const nlohmann::json t = {
      {"seconds", s.seconds},
      {"steps", s.steps},
      {"epochs_run", s.epochs_run},
      {"triplets", s.triplets},
      {"triplets_per_second", s.triplets_per_second},
      {"loop_seconds", s.loop_seconds},
      {"step_seconds", s.step_seconds},
      {"eval_seconds", s.eval_seconds},
      {"checkpoint_seconds", s.checkpoint_seconds},
      {"loop_triplets_per_second", s.triplets / std::max(s.loop_seconds, 1e-9)},
      {"step_triplets_per_second", s.triplets / std::max(s.step_seconds, 1e-9)},
      {"pipeline_overhead_fraction",
       s.loop_seconds > 0 ? 1.0 - s.step_seconds / s.loop_seconds : 0.0},
      {"data_wait_seconds", s.data_wait_seconds},
      // The share of wall time the step loop sat waiting for batches: on a
      // GPU, the device's idle time that the data pipeline causes.
      {"data_wait_fraction", s.data_wait_seconds / std::max(s.seconds, 1e-9)},
      // On a GPU, from the device's own clock: the gaps between the steps
      // it ran (nothing queued: the host or a batch's copy was late) and
      // their share of the steps' span. null on the CPU.
      {"device_busy_seconds", idle_->active() ? nlohmann::json(idle_->busy_seconds()) : nullptr},
      {"device_idle_seconds", idle_->active() ? nlohmann::json(idle_->idle_seconds()) : nullptr},
      {"device_idle_fraction",
       idle_->active()
           ? nlohmann::json(idle_->idle_seconds() /
                            std::max(idle_->idle_seconds() + idle_->busy_seconds(), 1e-9))
           : nullptr},
      {"threads", threads_},
      {"device", options_.device},
      {"precision", precision_name(options_.precision)},
      {"layout", layout_name(options_.layout)},
      {"adam_update", device::adam_update_name(runner_->adam_update())},
      // Steps that were replays of the captured CUDA graph; null without one.
      {"cuda_graph_replays",
       options_.cuda_graph ? nlohmann::json(runner_->graph_replays()) : nullptr},
      {"kernels", net_->options().kernels.describe()},
      {"world", options_.world},
      {"interrupted", s.interrupted}};
  common::write_file_atomic(metrics_dir_ + "/timing.json", common::dump_json(t, 2) + "\n");
}

TrainSummary TrainingSession::run() {
  const auto run_start = std::chrono::steady_clock::now();
  start_or_resume();
  open_logs();
  for (int epoch = start_epoch_; epoch <= training_.epochs; ++epoch) {
    if (!train_epoch(epoch)) {
      summary_.interrupted = true;
      break;
    }
    ++summary_.epochs_run;
  }
  save_plan();
  summary_.steps = step_;
  summary_.seconds = seconds_since(run_start);
  summary_.triplets_per_second = summary_.triplets / std::max(summary_.seconds, 1e-9);
  write_timing();
  return summary_;
}

}  // namespace

TrainSummary Trainer::run() {
  return TrainingSession(training_, run_dir_, options_, data_, eval_, training_.fingerprint).run();
}

}  // namespace tessera::train
