// c10d's process-group headers compile their Gloo and NCCL parts only under
// these switches (the Gloo headers come from libgloo-dev). Debian's
// TorchConfig already defines USE_C10D_GLOO; other builds may not.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#if defined(TESSERA_WITH_NCCL) && !defined(USE_C10D_NCCL)
#define USE_C10D_NCCL
#endif

#include "tessera/train/distributed.h"

#include <cstdlib>
#include <stdexcept>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef TESSERA_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace tessera::train {
namespace {

int env_int(const char* name, int fallback, int lo, int hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < lo || x > hi) {
    throw std::invalid_argument(std::string("distributed: environment variable ") + name + "='" +
                                v + "' must be an integer in [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + "]");
  }
  return int(x);
}

}  // namespace

DistEnv DistEnv::from_environment() {
  DistEnv e;
  e.world = env_int("WORLD_SIZE", 1, 1, 1 << 20);
  e.rank = env_int("RANK", 0, 0, e.world - 1);
  e.local_rank = env_int("LOCAL_RANK", e.rank, 0, 1 << 20);
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) e.master_addr = a;
  e.master_port = env_int("MASTER_PORT", 29500, 1, 65535);
  return e;
}

struct DistributedContext::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
};

bool DistributedContext::nccl_available() {
#ifdef TESSERA_WITH_NCCL
  return true;
#else
  return false;
#endif
}

DistributedContext::DistributedContext(const DistEnv& env, const DistOptions& options,
                                       torch::Device device)
    : env_(env), options_(options), device_(device), impl_(std::make_unique<Impl>()) {
  backend_ = options_.backend;
  if (backend_ == "auto") backend_ = device_.is_cuda() && nccl_available() ? "nccl" : "gloo";
  if (backend_ != "gloo" && backend_ != "nccl") {
    throw std::invalid_argument("distributed: --dist-backend '" + backend_ +
                                "' must be gloo, nccl or auto");
  }
  if (backend_ == "nccl" && !nccl_available()) {
    throw std::invalid_argument(
        "distributed: this LibTorch was built without NCCL; use --dist-backend gloo");
  }
  const auto timeout = std::chrono::milliseconds(std::int64_t(options_.timeout_s * 1000));
  c10d::TCPStoreOptions so;
  so.port = std::uint16_t(env_.master_port);
  so.isServer = env_.rank == 0;
  so.numWorkers = std::size_t(env_.world);
  so.waitWorkers = true;
  so.timeout = timeout;
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env_.master_addr, so);
    if (backend_ == "gloo") {
      auto go = c10d::ProcessGroupGloo::Options::create(timeout);
      go->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      impl_->pg =
          c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env_.rank, env_.world, go);
    } else {
#ifdef TESSERA_WITH_NCCL
      auto no = c10d::ProcessGroupNCCL::Options::create();
      no->timeout = timeout;
      impl_->pg =
          c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, env_.rank, env_.world, no);
#endif
    }
  } catch (const std::exception& e) {
    throw std::runtime_error("distributed: rank " + std::to_string(env_.rank) + " of " +
                             std::to_string(env_.world) + " could not join " + env_.master_addr +
                             ":" + std::to_string(env_.master_port) + ": " + e.what());
  }
}

DistributedContext::~DistributedContext() = default;

void DistributedContext::run(const char* what, const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (msg.size() > 400) msg = msg.substr(0, 400) + "...";
    throw std::runtime_error(std::string("distributed: ") + what + " failed on rank " +
                             std::to_string(env_.rank) + " (a peer was lost or timed out after " +
                             std::to_string(options_.timeout_s) + " s): " + msg);
  }
}

void DistributedContext::broadcast_module(torch::nn::Module& module) {
  run("broadcast of the parameters", [&] {
    torch::NoGradGuard g;
    for (auto& p : module.parameters()) {
      std::vector<at::Tensor> t = {p.data()};
      impl_->pg->broadcast(t)->wait();
    }
  });
  broadcast_buffers(module);
}

void DistributedContext::broadcast_buffers(torch::nn::Module& module) {
  run("broadcast of the buffers", [&] {
    for (auto& b : module.buffers()) {
      std::vector<at::Tensor> t = {b};
      impl_->pg->broadcast(t)->wait();
    }
  });
}

void DistributedContext::all_reduce_gradients(torch::nn::Module& module) {
  run("gradient all-reduce", [&] {
    torch::NoGradGuard g;
    std::vector<torch::Tensor> grads;
    for (auto& p : module.parameters()) {
      // The step drops gradients rather than zeroing them, so a parameter
      // unused on this rank has none; every rank must still reduce the same
      // tensors in the same order, or the buckets would not line up.
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      grads.push_back(p.grad());
    }
    // Few large flat buckets: one collective per ~25 MB, not one per tensor.
    std::size_t i = 0;
    while (i < grads.size()) {
      std::size_t bytes = 0, j = i;
      std::vector<torch::Tensor> flat;
      while (j < grads.size() && (j == i || bytes + grads[j].numel() * grads[j].element_size() <=
                                                options_.bucket_bytes)) {
        bytes += grads[j].numel() * grads[j].element_size();
        flat.push_back(grads[j].reshape({-1}));
        ++j;
      }
      std::vector<at::Tensor> bucket = {torch::cat(flat)};
      impl_->pg->allreduce(bucket)->wait();
      bucket[0].div_(double(env_.world));
      std::int64_t offset = 0;
      for (std::size_t k = i; k < j; ++k) {
        const std::int64_t n = grads[k].numel();
        grads[k].copy_(bucket[0].slice(0, offset, offset + n).view_as(grads[k]));
        offset += n;
      }
      i = j;
    }
  });
}

void DistributedContext::all_reduce_sum(std::vector<double>& values) {
  run("metric all-reduce", [&] {
    torch::Tensor t = torch::tensor(values, torch::kFloat64).to(device_);
    std::vector<at::Tensor> v = {t};
    impl_->pg->allreduce(v)->wait();
    const torch::Tensor c = v[0].to(torch::kCPU);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = c[std::int64_t(i)].item<double>();
  });
}

void DistributedContext::barrier() {
  run("barrier", [&] { impl_->pg->barrier()->wait(); });
}

}  // namespace tessera::train
