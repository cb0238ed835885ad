#include "tessera/model/resnet.h"

#include <cmath>
#include <stdexcept>

#include "tessera/ops/batch_norm.h"
#include "tessera/ops/conv.h"
#include "tessera/ops/stem_pool.h"

namespace tessera::model {
namespace {

namespace nn = torch::nn;

// Every convolution of these ResNets pads by half its (odd) kernel, so run()
// below can read the padding back from the kernel size.
int padding_of(std::int64_t kernel) {
  return int(kernel / 2);
}

nn::Conv2d conv(int in, int out, int kernel, int stride) {
  return nn::Conv2d(
      nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding_of(kernel)).bias(false));
}

// The 1x1 projection shortcut where the shape changes, else identity (empty).
nn::Sequential projection(int in, int out, int stride) {
  nn::Sequential s;
  if (stride != 1 || in != out) {
    s->push_back(conv(in, out, 1, stride));
    s->push_back(nn::BatchNorm2d(out));
  }
  return s;
}

// A conv module through ops::conv2d, whose bf16 computations are tuned
// per layer shape (ops/conv.h); the module keeps the weights and the stride.
torch::Tensor run(const nn::Conv2dImpl& c, const torch::Tensor& x, const ops::KernelOptions& k,
                  ops::ConvPlan* plan) {
  return ops::conv2d(x, c.weight, int((*c.options.stride())[0]),
                     padding_of((*c.options.kernel_size())[0]), k, plan);
}

// The projection shortcut (conv 1x1 with the block's stride, batch norm), or x.
torch::Tensor shortcut_of(nn::Sequential& s, const torch::Tensor& x, const ops::KernelOptions& k,
                          ops::ConvPlan* plan) {
  if (s->is_empty()) return x;
  return ops::batch_norm(run(*s[0]->as<nn::Conv2dImpl>(), x, k, plan),
                         *s[1]->as<nn::BatchNorm2dImpl>(), k, /*relu=*/false);
}

int conv_out(int n, int kernel, int stride, int pad) {
  return (n + 2 * pad - kernel) / stride + 1;
}

}  // namespace

Pooling parse_pooling(const std::string& name) {
  if (name == "average") return Pooling::kAverage;
  if (name == "time_stats") return Pooling::kTimeStats;
  throw std::invalid_argument("model: pooling '" + name + "' must be average or time_stats");
}

std::string pooling_name(Pooling p) {
  return p == Pooling::kAverage ? "average" : "time_stats";
}

Head parse_head(const std::string& name) {
  if (name == "linear") return Head::kLinear;
  if (name == "mlp") return Head::kMlp;
  throw std::invalid_argument("model: projection_head '" + name + "' must be linear or mlp");
}

std::string head_name(Head h) {
  return h == Head::kLinear ? "linear" : "mlp";
}

int pooled_bins(int bins) {
  int f = conv_out(bins, 7, 2, 3);  // stem
  f = conv_out(f, 3, 2, 1);         // max-pool
  for (int stage = 1; stage < 4; ++stage) f = conv_out(f, 3, 2, 1);
  return f;
}

void ResNetOptions::validate() const {
  kernels.validate();
  if (depth != 18 && depth != 34 && depth != 50) {
    throw std::invalid_argument("model: depth " + std::to_string(depth) + " must be 18, 34 or 50");
  }
  if (width < 1) throw std::invalid_argument("model: width must be >= 1");
  if (embedding_size < 1) throw std::invalid_argument("model: embedding_size must be >= 1");
  if (dropout < 0 || dropout >= 1) throw std::invalid_argument("model: dropout must lie in [0, 1)");
  if (input_normalisation != "none" && input_normalisation != "tile_mean" &&
      input_normalisation != "dataset")
    throw std::invalid_argument("model: input_normalisation '" + input_normalisation +
                                "' must be none, tile_mean or dataset");
  if (head_hidden < 1) throw std::invalid_argument("model: projection_hidden must be >= 1");
  if (input_bins < 1) throw std::invalid_argument("model: input_bins must be >= 1");
}

BasicBlockImpl::BasicBlockImpl(int in_planes, int planes, int stride)
    : conv1_(register_module("conv1", conv(in_planes, planes, 3, stride))),
      conv2_(register_module("conv2", conv(planes, planes, 3, 1))),
      bn1_(register_module("bn1", nn::BatchNorm2d(planes))),
      bn2_(register_module("bn2", nn::BatchNorm2d(planes))),
      shortcut_(register_module("shortcut", projection(in_planes, planes, stride))) {}

// Batch norm, the residual add and the ReLU as one operator (ops/batch_norm.h):
// fused kernels for bf16 NHWC, else in-place add and ReLU after the module,
// as torchvision does (batch norm's backward needs its input, not its
// output, so the output may be overwritten).
torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x, const ops::KernelOptions& k,
                                      ops::ConvPlan* plan) {
  const torch::Tensor y = ops::batch_norm(run(*conv1_, x, k, plan), *bn1_, k, /*relu=*/true);
  return ops::batch_norm(run(*conv2_, y, k, plan), *bn2_, k, /*relu=*/true,
                         shortcut_of(shortcut_, x, k, plan));
}

BottleneckImpl::BottleneckImpl(int in_planes, int planes, int stride)
    : conv1_(register_module("conv1", conv(in_planes, planes, 1, 1))),
      conv2_(register_module("conv2", conv(planes, planes, 3, stride))),
      conv3_(register_module("conv3", conv(planes, planes * kExpansion, 1, 1))),
      bn1_(register_module("bn1", nn::BatchNorm2d(planes))),
      bn2_(register_module("bn2", nn::BatchNorm2d(planes))),
      bn3_(register_module("bn3", nn::BatchNorm2d(planes * kExpansion))),
      shortcut_(register_module("shortcut", projection(in_planes, planes * kExpansion, stride))) {}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x, const ops::KernelOptions& k,
                                      ops::ConvPlan* plan) {
  torch::Tensor y = ops::batch_norm(run(*conv1_, x, k, plan), *bn1_, k, /*relu=*/true);
  y = ops::batch_norm(run(*conv2_, y, k, plan), *bn2_, k, /*relu=*/true);
  return ops::batch_norm(run(*conv3_, y, k, plan), *bn3_, k, /*relu=*/true,
                         shortcut_of(shortcut_, x, k, plan));
}

ResNetImpl::ResNetImpl(const ResNetOptions& options)
    : options_(options), conv_plan_(std::make_shared<ops::ConvPlan>()) {
  options_.validate();
  const int w = options_.width;
  stem_conv_ = register_module("stem_conv", conv(1, w, 7, 2));
  stem_bn_ = register_module("stem_bn", nn::BatchNorm2d(w));
  const bool bottleneck = options_.depth == 50;
  const int blocks18[4] = {2, 2, 2, 2};
  const int blocks34[4] = {3, 4, 6, 3};
  const int* blocks = options_.depth == 18 ? blocks18 : blocks34;
  nn::ModuleList stages;
  int in_planes = w;
  for (int s = 0; s < 4; ++s) {
    const int planes = w << s;
    for (int b = 0; b < blocks[s]; ++b) {
      const int stride = (s > 0 && b == 0) ? 2 : 1;
      if (bottleneck) {
        stages->push_back(Bottleneck(in_planes, planes, stride));
        in_planes = planes * BottleneckImpl::kExpansion;
      } else {
        stages->push_back(BasicBlock(in_planes, planes, stride));
        in_planes = planes;
      }
    }
  }
  stages_ = register_module("stages", stages);
  dropout_ = register_module("dropout", nn::Dropout(options_.dropout));
  pooled_size_ = options_.pooling == Pooling::kAverage
                     ? in_planes
                     : 2 * in_planes * pooled_bins(options_.input_bins);
  if (options_.head == Head::kMlp) {
    head_hidden_ = register_module("head_hidden", nn::Linear(pooled_size_, options_.head_hidden));
    head_ = register_module("head", nn::Linear(options_.head_hidden, options_.embedding_size));
  } else {
    head_ = register_module("head", nn::Linear(pooled_size_, options_.embedding_size));
  }
  if (options_.input_normalisation == "dataset") {
    input_mean_ = register_buffer("input_mean", torch::zeros({}));
    input_std_ = register_buffer("input_std", torch::ones({}));
  }
  // He initialisation for convolutions, as torchvision and Keras' ResNets do.
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    }
  }
}

void ResNetImpl::set_input_statistics(double mean, double std) {
  if (!input_mean_.defined()) {
    throw std::logic_error("model: input statistics need input_normalisation 'dataset'");
  }
  if (!(std > 0) || !std::isfinite(mean) || !std::isfinite(std)) {
    throw std::invalid_argument("model: the input's standard deviation must be > 0 and finite");
  }
  torch::NoGradGuard g;
  input_mean_.fill_(mean);
  input_std_.fill_(std);
}

std::pair<double, double> ResNetImpl::input_statistics() const {
  if (!input_mean_.defined()) return {0.0, 1.0};
  return {input_mean_.item<double>(), input_std_.item<double>()};
}

torch::Tensor ResNetImpl::body(const torch::Tensor& input) {
  torch::Tensor x = input;
  if (options_.input_normalisation == "tile_mean") {
    x = input - input.mean({2, 3}, /*keepdim=*/true);
  } else if (options_.input_normalisation == "dataset") {
    x = (input - input_mean_) / input_std_;
  }
  // Pooling before the ReLU gives the same values and gradients (the ReLU is
  // monotone) on a quarter of the elements.
  const ops::KernelOptions& k = options_.kernels;
  ops::ConvPlan* plan = conv_plan_.get();
  torch::Tensor y =
      ops::batch_norm_max_pool_3x3_s2(run(*stem_conv_, x, k, plan), *stem_bn_, k).relu_();
  for (const auto& block : *stages_) {
    if (auto* basic = block->as<BasicBlockImpl>())
      y = basic->forward(y, k, plan);
    else
      y = block->as<BottleneckImpl>()->forward(y, k, plan);
  }
  return y;
}

torch::Tensor ResNetImpl::pooled_one_channel(const torch::Tensor& input) {
  const torch::Tensor y = body(input);
  if (options_.pooling == Pooling::kTimeStats) {
    // [B, C, T, F]: mean and max over time (dim 2), then channels x bins.
    return torch::cat({y.mean(2), std::get<0>(y.max(2))}, 1).flatten(1);
  }
  return torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1);
}

torch::Tensor ResNetImpl::embed_one_channel(const torch::Tensor& x) {
  torch::Tensor y = dropout_(pooled_one_channel(x));
  if (head_hidden_) y = torch::relu(head_hidden_(y));
  y = head_(y);
  return torch::nn::functional::normalize(
      y, torch::nn::functional::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
}

// Runs `one` on each channel as a tile of its own and concatenates the
// results; unit vectors are scaled by 1/sqrt(channels) to stay unit length.
torch::Tensor ResNetImpl::per_channel(const torch::Tensor& x, int size, bool unit,
                                      torch::Tensor (ResNetImpl::*one)(const torch::Tensor&)) {
  if (x.dim() != 4)
    throw std::invalid_argument("ResNet: input must be [batch, channels, frames, mels]");
  const int64_t b = x.size(0), c = x.size(1);
  if (c == 1) return (this->*one)(x);
  const torch::Tensor y = (this->*one)(x.reshape({b * c, 1, x.size(2), x.size(3)}));
  const torch::Tensor joined = y.reshape({b, c * size});
  return unit ? joined / std::sqrt(double(c)) : joined;
}

torch::Tensor ResNetImpl::forward(const torch::Tensor& x) {
  return per_channel(x, options_.embedding_size, true, &ResNetImpl::embed_one_channel);
}

torch::Tensor ResNetImpl::pooled(const torch::Tensor& x) {
  return per_channel(x, pooled_size(), false, &ResNetImpl::pooled_one_channel);
}

std::int64_t forward_macs(const ResNetOptions& o, int frames, int bins) {
  o.validate();
  auto out = [](std::int64_t n, int k, int s, int p) { return (n + 2 * p - k) / s + 1; };
  std::int64_t h = frames, w = bins, macs = 0;
  auto conv_macs = [&](int in, int outc, int k, int s, int p) {
    h = out(h, k, s, p);
    w = out(w, k, s, p);
    macs += h * w * std::int64_t(outc) * in * k * k;
  };
  conv_macs(1, o.width, 7, 2, 3);
  h = out(h, 3, 2, 1);
  w = out(w, 3, 2, 1);
  const int blocks18[4] = {2, 2, 2, 2}, blocks34[4] = {3, 4, 6, 3};
  const int* blocks = o.depth == 18 ? blocks18 : blocks34;
  int in = o.width;
  for (int stage = 0; stage < 4; ++stage) {
    const int planes = o.width << stage;
    for (int b = 0; b < blocks[stage]; ++b) {
      const int stride = (stage > 0 && b == 0) ? 2 : 1;
      if (o.depth == 50) {
        conv_macs(in, planes, 1, 1, 0);
        conv_macs(planes, planes, 3, stride, 1);
        conv_macs(planes, planes * 4, 1, 1, 0);
        if (stride != 1 || in != planes * 4) macs += h * w * std::int64_t(planes * 4) * in;
        in = planes * 4;
      } else {
        conv_macs(in, planes, 3, stride, 1);
        conv_macs(planes, planes, 3, 1, 1);
        if (stride != 1 || in != planes) macs += h * w * std::int64_t(planes) * in;
        in = planes;
      }
    }
  }
  const std::int64_t pooled =
      o.pooling == Pooling::kAverage ? in : 2 * std::int64_t(in) * pooled_bins(bins);
  if (o.head == Head::kMlp)
    return macs + pooled * o.head_hidden + std::int64_t(o.head_hidden) * o.embedding_size;
  return macs + pooled * o.embedding_size;
}

std::int64_t parameter_count(ResNet& net) {
  std::int64_t n = 0;
  for (const auto& p : net->parameters()) n += p.numel();
  return n;
}

}  // namespace tessera::model
