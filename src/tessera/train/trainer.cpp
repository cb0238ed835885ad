#include "tessera/train/trainer.h"
#include "tessera/common/threads.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <thread>

#include "tessera/common/atomic_file.h"
#include "tessera/common/format.h"
#include "tessera/common/json_text.h"
#include "tessera/common/log.h"
#include "tessera/common/progress.h"
#include "tessera/sampling/batch_pipeline.h"
#include "tessera/train/checkpoint.h"
#include "tessera/train/csv_log.h"
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

double staircase_lr(const common::Config& c, std::int64_t step) {
  return c.learning_rate * std::pow(c.lr_decay_rate, double(step / c.lr_decay_steps));
}

void set_lr(torch::optim::Adam& adam, double lr) {
  for (auto& group : adam.param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
}

}  // namespace

std::atomic<bool>& Trainer::stop_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

void Trainer::install_signal_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

Trainer::Trainer(common::Config config, std::string run_dir, TrainerOptions options, RunData& data,
                 EpochEvalFn eval)
    : config_(std::move(config)),
      run_dir_(std::move(run_dir)),
      options_(std::move(options)),
      data_(data),
      eval_(std::move(eval)) {}

nlohmann::json Trainer::fingerprint() const {
  // What must match for a checkpoint to continue this run.
  return {{"model", config_.model},
          {"model_width", config_.model_width},
          {"embedding_size", config_.embedding_size},
          {"margin", config_.margin},
          {"batch_size", config_.batch_size},
          {"random_seed", config_.random_seed},
          {"feature_extractor", config_.feature_extractor},
          {"n_mel_bin", config_.n_mel_bin},
          {"to_mono", config_.to_mono},
          {"world_size", options_.world}};
}

TrainSummary Trainer::run() {
  const bool writer = options_.rank == 0;
  const std::string metrics_dir = run_dir_ + "/metrics";
  const std::string ckpt_dir = run_dir_ + "/checkpoints";
  if (writer) {
    common::make_dirs(metrics_dir);
    config_.save(run_dir_ + "/config.json");
  }
  const int threads = common::resolve_threads(options_.threads);
  torch::set_num_threads(threads);
  const torch::Device device(options_.device);
  if (device.is_cuda() && !torch::cuda::is_available()) {
    throw std::runtime_error(
        "train: --device cuda was given, but this LibTorch has no CUDA or sees no GPU");
  }

  // The same seed gives every margin of a sweep the same initial weights.
  torch::manual_seed(std::uint64_t(config_.random_seed));
  model::ResNetOptions model_options = model::ResNetOptions::from_config(config_);
  model_options.kernels = ops::KernelOptions::parse(options_.kernels);
  model::ResNet net(model_options);
  net->to(device);
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(config_.learning_rate));
  loss::TripletLossOptions lo;
  lo.margin = config_.margin;
  lo.reduction = loss::parse_reduction(config_.loss_reduction);
  StepRunner runner(net, adam, loss::TripletLoss(lo), config_.l2_amount, device,
                    parse_precision(options_.precision), parse_layout(options_.layout));
  if (options_.sync_gradients) runner.after_backward = [&] { options_.sync_gradients(net); };

  int start_epoch = 1;
  std::int64_t step = 0;
  std::size_t skip_batches = 0;
  // The running sums of an epoch interrupted mid-way, so its mean after a
  // resume covers the whole epoch.
  double resumed_loss = 0, resumed_triplet = 0;
  std::size_t resumed_counted = 0;
  const auto checkpoints = list_checkpoints(ckpt_dir);
  const bool resumed = options_.resume && !checkpoints.empty();
  if (resumed) {
    const CheckpointState st = load_checkpoint(checkpoints.back(), net.get(), &adam, fingerprint());
    step = st.step;
    const int in_epoch = st.meta.value("batch_in_epoch", 0);
    start_epoch = st.epoch + 1;
    skip_batches = std::size_t(in_epoch);
    resumed_loss = st.meta.value("epoch_loss_sum", 0.0);
    resumed_triplet = st.meta.value("epoch_triplet_sum", 0.0);
    resumed_counted = st.meta.value("epoch_batches", std::size_t(0));
    if (writer) {
      CsvLog::truncate(metrics_dir + "/train_steps.csv", double(step));
      CsvLog::truncate(metrics_dir + "/epochs.csv", double(st.epoch));
    }
    common::log_info(
        "resuming from ", checkpoints.back(), " (epoch ", st.epoch, " done, step ", step,
        in_epoch ? ", " + std::to_string(in_epoch) + " batches into the next epoch" : std::string(),
        ")");
  } else if (!checkpoints.empty()) {
    throw std::runtime_error("train: '" + run_dir_ +
                             "' already holds checkpoints; pass --resume to continue it "
                             "or choose another --run-dir");
  } else if (writer) {
    // A fresh run starts fresh metrics.
    std::error_code ec;
    fs::remove(metrics_dir + "/train_steps.csv", ec);
    fs::remove(metrics_dir + "/epochs.csv", ec);
  }
  if (options_.sync_parameters) options_.sync_parameters(net);

  CsvLog steps_csv, epochs_csv;
  std::unique_ptr<TensorBoardLog> board;
  if (writer) {
    steps_csv = CsvLog(metrics_dir + "/train_steps.csv", kStepColumns);
    epochs_csv = CsvLog(metrics_dir + "/epochs.csv", kEpochColumns);
    if (options_.tensorboard) {
      board = std::make_unique<TensorBoardLog>(run_dir_, resumed ? step : -1,
                                               common::dump_json(config_.to_json(), 2));
    }
  }
  sampling::TripletSampler sampler(sampling::SamplerOptions::from_config(config_));
  sampling::PipelineOptions popts = sampling::PipelineOptions::from_config(config_);
  if (config_.batch_size % options_.world != 0) {
    throw std::invalid_argument("train: batch_size (" + std::to_string(config_.batch_size) +
                                ") must divide evenly over " + std::to_string(options_.world) +
                                " processes");
  }
  popts.batch_size = config_.batch_size / options_.world;
  // Every rank must run the same number of steps: drop a ragged last batch.
  popts.drop_last = options_.world > 1;
  {
    const auto probe = sampler.sample(data_.train->tile_counts(), 1);
    if (probe.size() < std::size_t(config_.batch_size)) {
      throw std::invalid_argument("config: batch_size (" + std::to_string(config_.batch_size) +
                                  ") exceeds the " + std::to_string(probe.size()) +
                                  " training triplets of an epoch; lower batch_size or add data");
    }
  }
  const auto& g = data_.geometry;
  const bool progress_bar = writer && common::Progress::enabled();
  TrainSummary summary;
  const auto run_start = std::chrono::steady_clock::now();
  std::int64_t triplets = 0;

  auto checkpoint = [&](int epochs_done, int batch_in_epoch, double loss_sum, double triplet_sum,
                        std::size_t batches) {
    if (!writer || !config_.save_model) return;
    const auto t0 = std::chrono::steady_clock::now();
    CheckpointState st;
    st.epoch = epochs_done;
    st.step = step;
    st.meta = fingerprint();
    st.meta["batch_in_epoch"] = batch_in_epoch;
    st.meta["epoch_loss_sum"] = loss_sum;
    st.meta["epoch_triplet_sum"] = triplet_sum;
    st.meta["epoch_batches"] = batches;
    const std::string path = save_checkpoint(ckpt_dir, st, *net, adam, 3);
    common::log_debug("checkpoint ", path);
    summary.checkpoint_seconds += seconds_since(t0);
  };

  for (int epoch = start_epoch; epoch <= config_.epochs; ++epoch) {
    auto specs = sampler.sample(data_.train->tile_counts(), epoch);
    if (options_.world > 1) {
      // Every rank must run the same number of steps: keep a whole number of
      // global batches, then take this rank's disjoint shard.
      const std::size_t global = std::size_t(popts.batch_size) * std::size_t(options_.world);
      specs.resize(specs.size() - specs.size() % global);
      specs = sampling::shard(specs, options_.rank, options_.world);
    }
    const std::size_t skip_triplets =
        std::min(specs.size(), skip_batches * std::size_t(popts.batch_size));
    specs.erase(specs.begin(), specs.begin() + skip_triplets);
    sampling::BatchPipeline pipeline(*data_.train, std::move(specs), popts);
    common::Progress bar("epoch " + std::to_string(epoch) + "/" + std::to_string(config_.epochs),
                         pipeline.batches());
    double sum_loss = resumed_loss, sum_triplet = resumed_triplet;
    std::size_t batches_in_epoch = skip_batches, counted = resumed_counted;
    resumed_loss = resumed_triplet = 0;
    resumed_counted = 0;
    sampling::TripletBatch batch;
    auto epoch_start = std::chrono::steady_clock::now();
    bool stopped = false;
    while (pipeline.next(batch)) {
      const double lr = staircase_lr(config_, step);
      set_lr(adam, lr);
      const auto t0 = std::chrono::steady_clock::now();
      StepResult r = runner.step(batch.anchor.data(), batch.neighbour.data(), batch.opposite.data(),
                                 batch.size, g.channels, g.tile_frames, g.bins);
      if (options_.all_reduce_sum) {
        // Sums over ranks, then means of the global batch.
        std::vector<double> v = {r.loss * r.count,           r.triplet_loss * r.count,
                                 r.dist_neighbour * r.count, r.dist_opposite * r.count,
                                 double(r.active),           double(r.count)};
        options_.all_reduce_sum(v);
        r.loss = v[0] / v[5];
        r.triplet_loss = v[1] / v[5];
        r.dist_neighbour = v[2] / v[5];
        r.dist_opposite = v[3] / v[5];
        r.active_fraction = v[4] / v[5];
        r.count = std::int64_t(v[5]);
      }
      const double secs = seconds_since(t0);
      summary.step_seconds += secs;
      if (!std::isfinite(r.loss)) {
        const auto cks = list_checkpoints(ckpt_dir);
        throw NonFiniteLoss("train: the loss became " + std::to_string(r.loss) + " at step " +
                            std::to_string(step + 1) + " (epoch " + std::to_string(epoch) + "); " +
                            (cks.empty() ? "no checkpoint was written yet"
                                         : "the last good checkpoint is '" + cks.back() + "'"));
      }
      ++step;
      ++batches_in_epoch;
      ++counted;
      triplets += r.count ? r.count : batch.size;
      sum_loss += r.loss;
      sum_triplet += r.triplet_loss;
      if (writer) {
        steps_csv.row({double(step), double(epoch), r.loss, r.triplet_loss, r.reg_loss,
                       r.dist_neighbour, r.dist_opposite, r.active_fraction, lr, secs});
        if (board) board->step(step, r, lr);
      }
      char extra[160];
      std::snprintf(extra, sizeof extra, "loss %.4f active %.2f %.1f triplets/s", r.loss,
                    r.active_fraction, r.count / std::max(secs, 1e-9));
      if (progress_bar)
        bar.update(batches_in_epoch - skip_batches, extra);
      else if (writer && step % config_.log_every == 0)
        common::log_info("epoch ", epoch, " step ", step, " ", extra);
      if (stop_requested()) {
        stopped = true;
        break;
      }
    }
    bar.finish();
    summary.loop_seconds += seconds_since(epoch_start);
    summary.data_wait_seconds += pipeline.wait_seconds();
    if (stopped) {
      checkpoint(epoch - 1, int(batches_in_epoch), sum_loss, sum_triplet, counted);
      summary.interrupted = true;
      break;
    }
    skip_batches = 0;
    if (options_.sync_buffers) options_.sync_buffers(net);
    const auto eval_start = std::chrono::steady_clock::now();
    const EpochEval ev = eval_ ? eval_(net, epoch) : EpochEval{};
    summary.eval_seconds += seconds_since(eval_start);
    const double n = std::max<std::size_t>(counted, 1);
    if (writer) {
      const std::vector<double> row = {
          double(epoch),    sum_loss / n,       sum_triplet / n, ev.triplet_loss, ev.dist_neighbour,
          ev.dist_opposite, ev.active_fraction, ev.silhouette,   ev.centroid_cv,  ev.precision_at_1,
          ev.r_precision,   ev.map_at_r,        ev.nmi};
      epochs_csv.row(row);
      if (board) board->epoch(step, kEpochColumns, row, ev);
      common::log_info("epoch ", epoch, ": train loss ", sum_loss / n, ", eval loss ",
                       ev.triplet_loss, ", active ", ev.active_fraction, ", silhouette ",
                       ev.silhouette, ", centroid_cv ", ev.centroid_cv, " (",
                       common::duration(seconds_since(epoch_start)), ")");
    }
    if (epoch % config_.save_frequency == 0 || epoch == config_.epochs)
      checkpoint(epoch, 0, 0, 0, 0);
    ++summary.epochs_run;
  }
  summary.steps = step;
  summary.seconds = seconds_since(run_start);
  summary.triplets_per_second = triplets / std::max(summary.seconds, 1e-9);
  summary.triplets = triplets;
  if (writer) {
    // triplets_per_second counts the whole run (evaluation and checkpoints
    // included); loop_triplets_per_second is the epochs' throughput and
    // step_triplets_per_second the training step's alone. Their gap is the
    // time lost to the data pipeline.
    nlohmann::json t = {
        {"seconds", summary.seconds},
        {"steps", summary.steps},
        {"epochs_run", summary.epochs_run},
        {"triplets", triplets},
        {"triplets_per_second", summary.triplets_per_second},
        {"loop_seconds", summary.loop_seconds},
        {"step_seconds", summary.step_seconds},
        {"eval_seconds", summary.eval_seconds},
        {"checkpoint_seconds", summary.checkpoint_seconds},
        {"loop_triplets_per_second", triplets / std::max(summary.loop_seconds, 1e-9)},
        {"step_triplets_per_second", triplets / std::max(summary.step_seconds, 1e-9)},
        {"pipeline_overhead_fraction",
         summary.loop_seconds > 0 ? 1.0 - summary.step_seconds / summary.loop_seconds : 0.0},
        {"data_wait_seconds", summary.data_wait_seconds},
        {"threads", threads},
        {"device", options_.device},
        {"precision", options_.precision},
        {"layout", options_.layout},
        {"kernels", net->options().kernels.describe()},
        {"world", options_.world},
        {"interrupted", summary.interrupted}};
    common::write_file_atomic(metrics_dir + "/timing.json", common::dump_json(t, 2) + "\n");
  }
  return summary;
}

}  // namespace tessera::train
