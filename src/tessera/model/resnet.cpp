#include "tessera/model/resnet.h"

#include <cmath>
#include <stdexcept>

#include "tessera/common/config.h"
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
torch::Tensor run(const nn::Conv2dImpl& c, const torch::Tensor& x, const ops::KernelOptions& k) {
  return ops::conv2d(x, c.weight, int((*c.options.stride())[0]),
                     padding_of((*c.options.kernel_size())[0]), k);
}

// The projection shortcut (conv 1x1 with the block's stride, batch norm), or x.
torch::Tensor shortcut_of(nn::Sequential& s, const torch::Tensor& x, const ops::KernelOptions& k) {
  if (s->is_empty()) return x;
  return ops::batch_norm(run(*s[0]->as<nn::Conv2dImpl>(), x, k), *s[1]->as<nn::BatchNorm2dImpl>(),
                         k, /*relu=*/false);
}

}  // namespace

void ResNetOptions::validate() const {
  if (depth != 18 && depth != 34 && depth != 50) {
    throw std::invalid_argument("model: depth " + std::to_string(depth) + " must be 18, 34 or 50");
  }
  if (width < 1) throw std::invalid_argument("model: width must be >= 1");
  if (embedding_size < 1) throw std::invalid_argument("model: embedding_size must be >= 1");
  if (dropout < 0 || dropout >= 1) throw std::invalid_argument("model: dropout must lie in [0, 1)");
  if (input_normalisation != "none" && input_normalisation != "tile_mean")
    throw std::invalid_argument("model: input_normalisation '" + input_normalisation +
                                "' must be none or tile_mean");
}

ResNetOptions ResNetOptions::from_config(const common::Config& c) {
  ResNetOptions o;
  if (c.model == "ResNet18")
    o.depth = 18;
  else if (c.model == "ResNet34")
    o.depth = 34;
  else if (c.model == "ResNet50")
    o.depth = 50;
  else
    throw std::invalid_argument("config: model '" + c.model +
                                "' must be ResNet18, ResNet34 or ResNet50");
  o.width = c.model_width;
  o.embedding_size = c.embedding_size;
  o.input_normalisation = c.input_normalisation;
  return o;
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
torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x, const ops::KernelOptions& k) {
  const torch::Tensor y = ops::batch_norm(run(*conv1_, x, k), *bn1_, k, /*relu=*/true);
  return ops::batch_norm(run(*conv2_, y, k), *bn2_, k, /*relu=*/true, shortcut_of(shortcut_, x, k));
}

BottleneckImpl::BottleneckImpl(int in_planes, int planes, int stride)
    : conv1_(register_module("conv1", conv(in_planes, planes, 1, 1))),
      conv2_(register_module("conv2", conv(planes, planes, 3, stride))),
      conv3_(register_module("conv3", conv(planes, planes * kExpansion, 1, 1))),
      bn1_(register_module("bn1", nn::BatchNorm2d(planes))),
      bn2_(register_module("bn2", nn::BatchNorm2d(planes))),
      bn3_(register_module("bn3", nn::BatchNorm2d(planes * kExpansion))),
      shortcut_(register_module("shortcut", projection(in_planes, planes * kExpansion, stride))) {}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x, const ops::KernelOptions& k) {
  torch::Tensor y = ops::batch_norm(run(*conv1_, x, k), *bn1_, k, /*relu=*/true);
  y = ops::batch_norm(run(*conv2_, y, k), *bn2_, k, /*relu=*/true);
  return ops::batch_norm(run(*conv3_, y, k), *bn3_, k, /*relu=*/true, shortcut_of(shortcut_, x, k));
}

ResNetImpl::ResNetImpl(const ResNetOptions& options) : options_(options) {
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
  head_ = register_module("head", nn::Linear(in_planes, options_.embedding_size));
  // He initialisation for convolutions, as torchvision and Keras' ResNets do.
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    }
  }
}

torch::Tensor ResNetImpl::pooled_one_channel(const torch::Tensor& input) {
  const torch::Tensor x = options_.input_normalisation == "tile_mean"
                              ? input - input.mean({2, 3}, /*keepdim=*/true)
                              : input;
  // Pooling before the ReLU gives the same values and gradients (the ReLU is
  // monotone) on a quarter of the elements.
  const ops::KernelOptions& k = options_.kernels;
  torch::Tensor y = ops::batch_norm_max_pool_3x3_s2(run(*stem_conv_, x, k), *stem_bn_, k).relu_();
  for (const auto& block : *stages_) {
    if (auto* basic = block->as<BasicBlockImpl>())
      y = basic->forward(y, k);
    else
      y = block->as<BottleneckImpl>()->forward(y, k);
  }
  return torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1);
}

torch::Tensor ResNetImpl::embed_one_channel(const torch::Tensor& x) {
  const torch::Tensor y = head_(dropout_(pooled_one_channel(x)));
  return torch::nn::functional::normalize(
      y, torch::nn::functional::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
}

int ResNetImpl::pooled_size() const {
  return int(head_->options.in_features());
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
  return macs + std::int64_t(in) * o.embedding_size;
}

std::int64_t parameter_count(ResNet& net) {
  std::int64_t n = 0;
  for (const auto& p : net->parameters()) n += p.numel();
  return n;
}

}  // namespace tessera::model
