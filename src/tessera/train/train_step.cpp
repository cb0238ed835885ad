#include "tessera/train/train_step.h"

#include <stdexcept>

#include <ATen/autocast_mode.h>

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

}  // namespace

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

StepRunner::StepRunner(model::ResNet net, torch::optim::Optimizer& optimizer,
                       loss::TripletLoss loss, double l2_amount, torch::Device device,
                       Precision precision, Layout layout)
    : net_(std::move(net)),
      optimizer_(optimizer),
      loss_(std::move(loss)),
      l2_amount_(l2_amount),
      device_(device),
      precision_(precision),
      nhwc_(device.is_cpu() ? precision == Precision::kFp32 && layout == Layout::kNhwc
                            : layout != Layout::kNchw) {
  if (layout != Layout::kAuto) {
    ops::KernelOptions k = net_->options().kernels;
    k.bf16_channels_last = layout == Layout::kNhwc;
    net_->set_kernels(k);
  }
  if (nhwc_) to_channels_last(*net_);
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard g;
  for (auto& p : module.parameters()) {
    if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
  }
}

bool StepRunner::bf16_channels_last() const {
  return precision_ == Precision::kBf16 && device_.is_cpu() &&
         net_->options().kernels.bf16_channels_last;
}

StepMetrics StepRunner::run(const torch::Tensor& tiles_in) {
  net_->train();
  torch::Tensor tiles = tiles_in.to(device_);
  if (nhwc_) tiles = tiles.contiguous(at::MemoryFormat::ChannelsLast);
  const std::int64_t b = tiles.size(0) / 3;
  torch::Tensor emb;
  if (precision_ == Precision::kBf16) {
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
  const auto parts = emb.split(b, 0);
  loss::TripletLossResult t = loss_.compute(parts[0], parts[1], parts[2]);
  const torch::Tensor reg = loss::l2_penalty(*net_, l2_amount_);
  const torch::Tensor total = t.loss + reg;
  const auto f64 = [](const torch::Tensor& x) { return x.detach().to(torch::kFloat64); };
  StepMetrics m;
  m.values = torch::stack(
      {f64(total), f64(t.loss), f64(reg), f64(t.dist_neighbour), f64(t.dist_opposite),
       f64(t.active), torch::full({}, double(t.count), total.options().dtype(torch::kFloat64))});
  // Drop the gradients rather than zero them (PyTorch 2's default): backward
  // then writes each one once instead of adding it to a tensor of zeros.
  // Adam skips a parameter without a gradient; every one here has one.
  for (auto& group : optimizer_.param_groups()) {
    for (auto& p : group.params()) p.mutable_grad().reset();
  }
  total.backward();
  if (after_backward) after_backward();
  optimizer_.step();
  return m;
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
