#include "tessera/train/train_step.h"

#include <stdexcept>

#include <ATen/autocast_mode.h>
#include <c10/core/Event.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include "tessera/device/cuda_graph.h"

namespace tessera::train {
namespace {

// Autocast to bf16 on one device type while it lives (its cast cache
// cleared on the way out, also when the forward pass throws).
class AutocastBf16 {
 public:
  explicit AutocastBf16(c10::DeviceType type) : type_(type) {
    at::autocast::set_autocast_enabled(type_, true);
    at::autocast::set_autocast_dtype(type_, at::kBFloat16);
  }
  ~AutocastBf16() {
    at::autocast::set_autocast_enabled(type_, false);
    at::autocast::clear_cache();
  }
  AutocastBf16(const AutocastBf16&) = delete;
  AutocastBf16& operator=(const AutocastBf16&) = delete;

 private:
  c10::DeviceType type_;
};

// Autocast's cache of weight casts off while it lives: a cast cached during
// a capture would be a tensor of the graph's that the next step drops.
class NoAutocastCache {
 public:
  NoAutocastCache() : was_(at::autocast::is_autocast_cache_enabled()) {
    at::autocast::set_autocast_cache_enabled(false);
  }
  ~NoAutocastCache() { at::autocast::set_autocast_cache_enabled(was_); }
  NoAutocastCache(const NoAutocastCache&) = delete;
  NoAutocastCache& operator=(const NoAutocastCache&) = delete;

 private:
  bool was_;
};

// Runs `fn` with `side` as its device's current stream, after the work
// queued on the stream that was current, which waits for it in turn.
template <typename Fn>
void on_stream(const c10::Stream& side, Fn&& fn) {
  const c10::Stream main = c10::impl::VirtualGuardImpl(side.device_type()).getStream(side.device());
  c10::Event before(side.device_type()), after(side.device_type());
  before.record(main);
  before.block(side);
  {
    c10::StreamGuard guard(side);
    fn();
  }
  after.record(side);
  after.block(main);
}

}  // namespace

void StepOptions::validate(const torch::Device& device) const {
  if (!cuda_graph) return;
  if (!device.is_cuda()) {
    throw std::invalid_argument("step: a CUDA graph needs a CUDA device, not " + device.str());
  }
  if (device::resolve_adam_update(adam, device) != device::AdamUpdate::kFused) {
    throw std::invalid_argument(
        "step: a CUDA graph needs the fused Adam update (the loop decides each step's bias "
        "corrections on the host, which a replay would not redo)");
  }
  if (cuda_graph_warmup < 1) {
    throw std::invalid_argument(
        "step: cuda_graph_warmup must be >= 1 (the first step makes the optimiser's state, "
        "which a capture must not)");
  }
}

struct StepRunner::Graphed {
  std::vector<std::int64_t> shape;  // the batch shape the graph is for
  int warm = 0;                     // steps of that shape before the capture
  c10::Stream stream;
  std::unique_ptr<device::CudaGraph> graph;
  torch::Tensor input, recordings, metrics;  // the graph's own
};

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  throw std::invalid_argument("precision '" + name + "' must be fp32 or bf16");
}

Layout parse_layout(const std::string& name) {
  if (name == "auto") return Layout::kAuto;
  if (name == "nchw") return Layout::kNchw;
  if (name == "nhwc") return Layout::kNhwc;
  throw std::invalid_argument("layout '" + name + "' must be auto, nchw or nhwc");
}

const char* precision_name(Precision precision) {
  return precision == Precision::kBf16 ? "bf16" : "fp32";
}

const char* layout_name(Layout layout) {
  switch (layout) {
    case Layout::kNchw:
      return "nchw";
    case Layout::kNhwc:
      return "nhwc";
    case Layout::kAuto:
      break;
  }
  return "auto";
}

StepRunner::StepRunner(model::ResNet net, torch::optim::Adam& optimizer, loss::Objective loss,
                       double l2_amount, torch::Device device, StepOptions options)
    : net_(std::move(net)),
      optimizer_(optimizer),
      loss_(std::move(loss)),
      l2_amount_(l2_amount),
      device_(device),
      options_(options),
      adam_(device::resolve_adam_update(options.adam, device)),
      nhwc_(device.is_cpu()
                ? options.precision == Precision::kFp32 && options.layout == Layout::kNhwc
                : options.layout != Layout::kNchw) {
  options_.validate(device_);
  if (options_.layout != Layout::kAuto) {
    ops::KernelOptions k = net_->options().kernels;
    k.bf16_channels_last = options_.layout == Layout::kNhwc;
    net_->set_kernels(k);
  }
  if (nhwc_) to_channels_last(*net_);
  if (adam_ == device::AdamUpdate::kFused) fused_ = std::make_unique<device::FusedAdam>(optimizer_);
}

StepRunner::StepRunner(model::ResNet net, torch::optim::Adam& optimizer, loss::Objective loss,
                       double l2_amount, torch::Device device, Precision precision, Layout layout)
    : StepRunner(std::move(net), optimizer, std::move(loss), l2_amount, device,
                 StepOptions{precision, layout}) {}

StepRunner::~StepRunner() = default;

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard g;
  for (auto& p : module.parameters()) {
    if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
  }
}

bool StepRunner::bf16_channels_last() const {
  return options_.precision == Precision::kBf16 && device_.is_cpu() &&
         net_->options().kernels.bf16_channels_last;
}

StepMetrics StepRunner::run(const torch::Tensor& tiles_in, const torch::Tensor& recordings_in) {
  net_->train();
  const torch::Tensor tiles = tiles_in.to(device_);
  torch::Tensor recordings;
  if (recordings_in.defined()) {
    if (recordings_in.dim() != 1 || recordings_in.size(0) != tiles.size(0)) {
      throw std::invalid_argument("step: one recording id per tile is needed");
    }
    recordings = recordings_in.to(device_, torch::kInt64);
  }
  return options_.cuda_graph ? run_graphed(tiles, recordings) : queue_step(tiles, recordings);
}

StepMetrics StepRunner::queue_step(const torch::Tensor& tiles_in, const torch::Tensor& recordings) {
  const torch::Tensor tiles =
      nhwc_ ? tiles_in.contiguous(at::MemoryFormat::ChannelsLast) : tiles_in;
  torch::Tensor emb;
  if (options_.precision == Precision::kBf16) {
    // Mixed precision: convolutions and matmuls in bf16 under autocast, the
    // weights, the loss and the optimiser in fp32.
    // With bf16 channels-last on the CPU (the net's kernel options) the fp32
    // master weights keep their layout; the convolutions reorder their bf16
    // copies. On a GPU the master weights are NHWC and so are their copies.
    AutocastBf16 autocast(device_.type());
    emb = net_->forward(tiles).to(torch::kFloat32);
  } else {
    emb = net_->forward(tiles);
  }
  loss::TripletLossResult t = loss_.compute(emb, recordings);
  const torch::Tensor reg = loss::l2_penalty(*net_, l2_amount_);
  const torch::Tensor total = t.loss + reg;
  const auto f64 = [](const torch::Tensor& x) { return x.detach().to(torch::kFloat64); };
  StepMetrics m;
  m.values = torch::stack(
      {f64(total), f64(t.loss), f64(reg), f64(t.dist_neighbour), f64(t.dist_opposite),
       f64(t.active), torch::full({}, double(t.count), total.options().dtype(torch::kFloat64))});
  drop_gradients();
  total.backward();
  if (after_backward) after_backward();
  if (fused_) {
    fused_->step();
  } else {
    optimizer_.step();
  }
  return m;
}

void StepRunner::drop_gradients() {
  // Dropped rather than zeroed (PyTorch 2's default): backward then writes
  // each one once instead of adding it to a tensor of zeros. Adam skips a
  // parameter without a gradient; every one here has one.
  for (auto& group : optimizer_.param_groups()) {
    for (auto& p : group.params()) p.mutable_grad().reset();
  }
}

StepMetrics StepRunner::run_graphed(const torch::Tensor& tiles, const torch::Tensor& recordings) {
  if (after_backward) {
    throw std::logic_error("step: a CUDA graph cannot capture the gradient all-reduce");
  }
  if (!graphed_) {
    graphed_ = std::make_unique<Graphed>(
        Graphed{tiles.sizes().vec(),
                0,
                c10::impl::VirtualGuardImpl(device_.type()).getStreamFromGlobalPool(tiles.device()),
                nullptr,
                {},
                {}});
  }
  Graphed& g = *graphed_;
  if (tiles.sizes().vec() != g.shape) return queue_step(tiles, recordings);
  if (!g.graph && g.warm < options_.cuda_graph_warmup) {
    ++g.warm;
    StepMetrics m;
    on_stream(g.stream, [&] { m = queue_step(tiles, recordings); });
    return m;
  }
  if (g.graph) {
    g.input.copy_(tiles);  // into the graph's layout
    if (g.recordings.defined() != recordings.defined()) {
      throw std::logic_error("step: a graphed step's recording ids come with every batch or none");
    }
    if (recordings.defined()) g.recordings.copy_(recordings);
    fused_->prepare_replay();
  } else {
    // The capture. Its step() does the host's bookkeeping of this step (the
    // optimiser's counts), so the replay that runs it needs no
    // prepare_replay.
    g.input = torch::empty_like(
        tiles, nhwc_ ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
    g.input.copy_(tiles);
    if (recordings.defined()) g.recordings = recordings.clone();
    drop_gradients();
    fused_->refresh_learning_rates();
    NoAutocastCache no_cache;
    on_stream(g.stream, [&] {
      g.graph = std::make_unique<device::CudaGraph>(
          [&] { g.metrics = queue_step(g.input, g.recordings).values; });
    });
    fused_->keep_last_step_for_replay();
  }
  g.graph->replay();
  ++replays_;
  return {g.metrics.clone()};
}

StepResult step_result(const double* v) {
  StepResult r;
  r.loss = v[0];
  r.triplet_loss = v[1];
  r.reg_loss = v[2];
  r.dist_neighbour = v[3];
  r.dist_opposite = v[4];
  r.active = std::int64_t(v[5]);
  r.count = std::int64_t(v[6]);
  r.active_fraction = r.count ? v[5] / v[6] : 0.0;
  return r;
}

StepResult StepMetrics::read() const {
  return read_metrics({*this}).front();
}

std::vector<StepResult> read_metrics(const std::vector<StepMetrics>& metrics) {
  std::vector<StepResult> out;
  if (metrics.empty()) return out;
  std::vector<torch::Tensor> all;
  for (const auto& m : metrics) all.push_back(m.values);
  const torch::Tensor host = torch::stack(all).to(torch::kCPU).contiguous();
  const double* v = host.data_ptr<double>();
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    out.push_back(step_result(v + i * StepMetrics::kValues));
  }
  return out;
}

}  // namespace tessera::train
