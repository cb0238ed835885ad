// The hidden-toolkit check's program (tests/install/cpu_only_check.sh): one
// Adam step of Tessera's ResNet18 on the triplet loss, on the CPU, in a build
// configured without the CUDA toolkit. It prints the loss before and after the
// step and then every NVIDIA or LibTorch CUDA library the process maps (from
// /proc/self/maps), for the check to compare with what libtorch_cpu needs.
// Exits non-zero when the step changes nothing or gives a non-finite loss.
#include <cmath>
#include <fstream>
#include <iostream>
#include <set>
#include <string>

#include <torch/torch.h>

#include "tessera/loss/triplet_loss.h"
#include "tessera/model/resnet.h"

namespace {

bool is_nvidia_library(const std::string& path) {
  const std::string name = path.substr(path.rfind('/') + 1);
  for (const char* prefix : {"libcu", "libnv", "libnccl", "libtorch_cuda", "libc10_cuda"}) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return path.find("/nvidia/") != std::string::npos;
}

}  // namespace

int main() {
  using namespace tessera;
  torch::manual_seed(7);
  model::ResNetOptions options;
  options.width = 8;
  options.embedding_size = 16;
  options.input_bins = 32;
  options.validate();
  model::ResNet net(options);
  net->train();
  const loss::TripletLoss triplet(loss::TripletLossOptions{});
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));

  // Four triplets of [1, frames, bins] tiles.
  const auto anchor = torch::randn({4, 1, 24, 32});
  const auto neighbour = anchor + 0.1 * torch::randn({4, 1, 24, 32});
  const auto opposite = torch::randn({4, 1, 24, 32});
  auto loss_of = [&] {
    return triplet.compute(net->forward(anchor), net->forward(neighbour), net->forward(opposite))
        .loss;
  };
  const torch::Tensor before = loss_of();
  const torch::Tensor first = net->parameters().front().detach().clone();
  adam.zero_grad();
  before.backward();
  adam.step();
  const double after = loss_of().item<double>();
  const bool moved = !torch::equal(first, net->parameters().front().detach());
  std::cout << "loss before " << before.item<double>() << " after " << after << "\n";

  std::ifstream maps("/proc/self/maps");
  std::set<std::string> nvidia;
  for (std::string line; std::getline(maps, line);) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    if (is_nvidia_library(path)) nvidia.insert(path);
  }
  for (const auto& path : nvidia) std::cout << "maps " << path << "\n";

  if (!std::isfinite(before.item<double>()) || !std::isfinite(after) || !moved) {
    std::cerr << "cpu_one_step: the step did not train (finite loss and moved weights expected)\n";
    return 1;
  }
  return 0;
}
