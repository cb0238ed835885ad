#include "tessera/train/distributed.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

// LibTorch's CPU target defines USE_C10D_GLOO, under which this header
// declares the Gloo process group. The wheel ships no Gloo headers;
// libgloo-dev's stand in (CMakeLists.txt says why that is safe, and
// tests/train/gloo_headers_check.sh checks it).
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "tessera/cuda/nccl_backend.h"
#include "tessera/device/cuda_support.h"

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
  // torchrun's agent already serves a TCPStore on MASTER_PORT and tells its
  // workers to join it as clients; each restart of the group gets a fresh
  // key prefix there, as PyTorch's own workers use.
  if (const char* a = std::getenv("TORCHELASTIC_USE_AGENT_STORE"); a && *a) {
    const std::string v = a;
    if (v != "True" && v != "False") {
      throw std::invalid_argument(
          "distributed: environment variable TORCHELASTIC_USE_AGENT_STORE='" + v +
          "' must be True or False");
    }
    e.agent_store = v == "True";
  }
  e.restart_count = env_int("TORCHELASTIC_RESTART_COUNT", 0, 0, 1 << 20);
  return e;
}

std::string device_for_rank(const std::string& device, const DistEnv& env, int visible_gpus) {
  if (device != "cuda" || !env.enabled()) return device;
  if (env.local_rank >= visible_gpus) {
    throw std::invalid_argument("distributed: LOCAL_RANK " + std::to_string(env.local_rank) +
                                " has no GPU of its own (" + std::to_string(visible_gpus) +
                                " visible); give --device cuda:N to put ranks on one GPU");
  }
  return "cuda:" + std::to_string(env.local_rank);
}

// The state of overlap_gradients(): where each parameter's gradient goes,
// and the buckets' flat buffers and pending reductions.
struct DistributedContext::Overlap {
  struct Slot {
    torch::Tensor param;
    std::size_t bucket = 0;
    std::int64_t offset = 0, numel = 0;
    unsigned hook = 0;
    bool ready = false;
  };
  struct Bucket {
    torch::Tensor flat;
    std::int64_t numel = 0;
    std::vector<std::size_t> slots;
    std::size_t ready = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };
  const torch::nn::Module* module = nullptr;
  std::vector<Slot> slots;      // in parameters() order
  std::vector<Bucket> buckets;  // in the order the backward pass fills them
  std::size_t next_to_start = 0, started_in_backward = 0, last_started_in_backward = 0;
  std::mutex mutex;
};

struct DistributedContext::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  // Since LibTorch 2.0 Gloo and NCCL are c10d::Backends; one device type
  // per run, so the backend itself serves the collectives.
  c10::intrusive_ptr<c10d::Backend> pg;
  std::unique_ptr<Overlap> overlap;
};

DistributedContext::DistributedContext(const DistEnv& env, const DistOptions& options,
                                       torch::Device device)
    : env_(env), options_(options), device_(device), impl_(std::make_unique<Impl>()) {
  backend_ = options_.backend;
  if (backend_ == "auto") backend_ = device_.is_cuda() ? "nccl" : "gloo";
  if (backend_ != "gloo" && backend_ != "nccl") {
    throw std::invalid_argument("distributed: --dist-backend '" + backend_ +
                                "' must be gloo, nccl or auto");
  }
  const auto timeout = std::chrono::milliseconds(std::int64_t(options_.timeout_s * 1000));
  c10d::TCPStoreOptions so;
  so.port = std::uint16_t(env_.master_port);
  so.isServer = env_.rank == 0 && !env_.agent_store;
  so.numWorkers = std::size_t(env_.world);
  so.waitWorkers = true;
  so.timeout = timeout;
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env_.master_addr, so);
    if (env_.agent_store) {
      impl_->store = c10::make_intrusive<c10d::PrefixStore>(
          "/worker/attempt_" + std::to_string(env_.restart_count), impl_->store);
    }
    if (backend_ == "gloo") {
      auto go = c10d::ProcessGroupGloo::Options::create(timeout);
      go->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      impl_->pg =
          c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env_.rank, env_.world, go);
    } else {
      // NCCL lives in libtorch_cuda, which only the CUDA module links.
      const auto make = reinterpret_cast<TesseraMakeNcclBackend>(
          device::cuda_support_symbol("tessera_make_nccl_backend"));
      char error[512] = "";
      c10d::Backend* pg = make(impl_->store.get(), env_.rank, env_.world,
                               std::int64_t(timeout.count()), error, sizeof error);
      if (!pg) throw std::runtime_error(error);
      impl_->pg = c10::intrusive_ptr<c10d::Backend>::reclaim(pg);
    }
  } catch (const std::exception& e) {
    throw std::runtime_error("distributed: rank " + std::to_string(env_.rank) + " of " +
                             std::to_string(env_.world) + " could not join " + env_.master_addr +
                             ":" + std::to_string(env_.master_port) + ": " + e.what());
  }
}

DistributedContext::~DistributedContext() {
  if (impl_ && impl_->overlap) {
    for (auto& slot : impl_->overlap->slots) slot.param.remove_hook(slot.hook);
  }
  // NCCL's communicators are torn down here rather than by the group's
  // destructor, which warns that it was never shut down; Gloo has nothing
  // to do.
  if (impl_ && impl_->pg) {
    try {
      impl_->pg->shutdown();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "distributed: rank %d: shutting the %s group down failed: %s\n",
                   env_.rank, backend_.c_str(), e.what());
    }
  }
}

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

void DistributedContext::overlap_gradients(torch::nn::Module& module) {
  if (impl_->overlap) {
    if (impl_->overlap->module == &module) return;
    throw std::logic_error("distributed: gradients of a second module cannot overlap");
  }
  auto o = std::make_unique<Overlap>();
  o->module = &module;
  const auto params = module.parameters();
  o->slots.resize(params.size());
  std::size_t bytes = 0;
  for (std::size_t i = params.size(); i-- > 0;) {
    const std::size_t b = std::size_t(params[i].numel()) * params[i].element_size();
    if (o->buckets.empty() || bytes + b > options_.bucket_bytes) {
      o->buckets.emplace_back();
      bytes = 0;
    }
    Overlap::Bucket& bucket = o->buckets.back();
    Overlap::Slot& slot = o->slots[i];
    slot.param = params[i];
    slot.bucket = o->buckets.size() - 1;
    slot.numel = params[i].numel();
    slot.offset = bucket.numel;
    bucket.numel += slot.numel;
    bucket.slots.push_back(i);
    bytes += b;
  }
  for (auto& bucket : o->buckets) {
    bucket.flat = torch::zeros({bucket.numel}, o->slots[bucket.slots.front()].param.options());
  }
  impl_->overlap = std::move(o);
  for (std::size_t i = 0; i < params.size(); ++i) {
    impl_->overlap->slots[i].hook =
        params[i].register_hook([this, i](torch::Tensor grad) { on_gradient(i, grad); });
  }
}

void DistributedContext::on_gradient(std::size_t i, const torch::Tensor& grad) {
  Overlap& o = *impl_->overlap;
  std::lock_guard<std::mutex> lock(o.mutex);
  Overlap::Slot& slot = o.slots[i];
  Overlap::Bucket& bucket = o.buckets[slot.bucket];
  if (bucket.work) {
    throw std::logic_error(
        "distributed: a second gradient of one parameter arrived after its bucket's all-reduce "
        "had started; overlapped reduction needs every parameter used once per step");
  }
  torch::NoGradGuard no_grad;
  torch::Tensor dst = bucket.flat.slice(0, slot.offset, slot.offset + slot.numel);
  if (slot.ready) {
    dst.add_(grad.reshape({-1}));
  } else {
    dst.copy_(grad.reshape({-1}));
    slot.ready = true;
    ++bucket.ready;
  }
  start_ready_buckets(true);
}

// Starts, in bucket order, every bucket that is full and whose predecessors
// have started (the caller holds the overlap's mutex).
void DistributedContext::start_ready_buckets(bool in_backward) {
  Overlap& o = *impl_->overlap;
  while (o.next_to_start < o.buckets.size() &&
         o.buckets[o.next_to_start].ready == o.buckets[o.next_to_start].slots.size()) {
    Overlap::Bucket& bucket = o.buckets[o.next_to_start++];
    run("gradient all-reduce", [&] {
      std::vector<at::Tensor> t = {bucket.flat};
      bucket.work = impl_->pg->allreduce(t);
    });
    if (in_backward) ++o.started_in_backward;
  }
}

void DistributedContext::finish_overlapped() {
  Overlap& o = *impl_->overlap;
  std::lock_guard<std::mutex> lock(o.mutex);
  torch::NoGradGuard no_grad;
  // Parameters without a gradient on this rank take part as zeros.
  for (std::size_t k = o.next_to_start; k < o.buckets.size(); ++k) {
    Overlap::Bucket& bucket = o.buckets[k];
    for (std::size_t i : bucket.slots) {
      Overlap::Slot& slot = o.slots[i];
      if (slot.ready) continue;
      bucket.flat.slice(0, slot.offset, slot.offset + slot.numel).zero_();
      slot.ready = true;
      ++bucket.ready;
    }
  }
  start_ready_buckets(false);
  run("gradient all-reduce", [&] {
    for (auto& bucket : o.buckets) {
      bucket.work->wait();
      bucket.flat.div_(double(env_.world));
      for (std::size_t i : bucket.slots) {
        Overlap::Slot& slot = o.slots[i];
        const torch::Tensor avg =
            bucket.flat.slice(0, slot.offset, slot.offset + slot.numel).view(slot.param.sizes());
        // Autograd has put this rank's own gradient there; the average
        // replaces it, in the parameter's layout.
        if (!slot.param.grad().defined()) slot.param.mutable_grad() = torch::empty_like(slot.param);
        slot.param.mutable_grad().copy_(avg);
        slot.ready = false;
      }
      bucket.ready = 0;
      bucket.work.reset();
    }
  });
  o.next_to_start = 0;
  o.last_started_in_backward = o.started_in_backward;
  o.started_in_backward = 0;
}

std::size_t DistributedContext::buckets_started_in_backward() const {
  return impl_->overlap ? impl_->overlap->last_started_in_backward : 0;
}

void DistributedContext::all_reduce_gradients(torch::nn::Module& module) {
  if (impl_->overlap && impl_->overlap->module == &module) {
    finish_overlapped();
    return;
  }
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
