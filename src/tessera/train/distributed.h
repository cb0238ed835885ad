// Data-parallel training on torch's c10d process groups, configured exactly
// like torchrun: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
// Rendezvous is c10d's TCPStore: rank 0 serves it when started by hand, and
// under torchrun every rank joins the one torchrun's agent serves. The
// backend is Gloo on CPU, and NCCL where LibTorch has it and the device is
// CUDA.
//
//   DistEnv env = DistEnv::from_environment();
//   DistributedContext ctx(env, DistOptions{}, torch::kCPU);
//   ctx.broadcast_module(*net);             // rank 0's weights everywhere
//   ctx.overlap_gradients(*net);            // optional: reduce during backward
//   ... loss.backward(); ctx.all_reduce_gradients(*net); optimiser.step();
//
// Every collective waits at most `timeout`: a lost peer or a stalled one ends
// the call with std::runtime_error instead of a hang.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace tessera::train {

struct DistEnv {
  int rank = 0, world = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // Under torchrun: join the agent's store instead of serving one
  // (TORCHELASTIC_USE_AGENT_STORE), and how often the group was restarted
  // (TORCHELASTIC_RESTART_COUNT; above 0 a run resumes from its checkpoint).
  bool agent_store = false;
  int restart_count = 0;
  bool enabled() const { return world > 1; }
  // Reads the torchrun variables; WORLD_SIZE unset means one process.
  // Throws std::invalid_argument naming a malformed variable.
  static DistEnv from_environment();
};

// The device a rank trains on. Under torchrun each process has its own
// GPU: "cuda" without an index means cuda:LOCAL_RANK, and a LOCAL_RANK with
// no such GPU among `visible_gpus` is an error naming both. Any other
// device, an indexed GPU included (ranks sharing one, with Gloo), is kept.
std::string device_for_rank(const std::string& device, const DistEnv& env, int visible_gpus);

struct DistOptions {
  std::string backend = "auto";  // gloo | nccl | auto (nccl for CUDA, else gloo)
  double timeout_s = 300;
  std::size_t bucket_bytes = 25u << 20;  // gradient all-reduce buckets, as PyTorch DDP's default
  // Start the buckets' all-reduces during the backward pass
  // (DistributedContext::overlap_gradients), as DDP does.
  bool overlap_backward = true;
};

class DistributedContext {
 public:
  DistributedContext(const DistEnv& env, const DistOptions& options, torch::Device device);
  ~DistributedContext();

  int rank() const { return env_.rank; }
  int world() const { return env_.world; }
  const std::string& backend() const { return backend_; }

  // Rank 0's parameters and buffers to every rank.
  void broadcast_module(torch::nn::Module& module);
  // Rank 0's buffers only (batch-norm statistics before an evaluation).
  void broadcast_buffers(torch::nn::Module& module);
  // Sums gradients over ranks in a few flat buckets and divides by the world.
  // After overlap_gradients(module), the backward pass has started most of
  // the buckets' reductions already, and this finishes them.
  void all_reduce_gradients(torch::nn::Module& module);
  // From now on, reduce `module`'s gradients while the backward pass runs:
  // hooks on its parameters copy each gradient into its bucket as autograd
  // produces it (buckets fill from the last parameter back, the order of the
  // backward pass), and a full bucket starts its all-reduce once every
  // earlier bucket has, so all ranks issue them in the same order. A
  // parameter with no gradient on this rank joins as zeros when
  // all_reduce_gradients() finishes the step. Every parameter must receive
  // at most one gradient per step. Calling it again for the same module does
  // nothing; for another module it is an error.
  void overlap_gradients(torch::nn::Module& module);
  // Buckets whose all-reduce the last finished step started during its
  // backward pass (the rest started in all_reduce_gradients()).
  std::size_t buckets_started_in_backward() const;
  void all_reduce_sum(std::vector<double>& values);
  void barrier();

 private:
  struct Impl;
  struct Overlap;
  void run(const char* what, const std::function<void()>& f);
  void on_gradient(std::size_t slot, const torch::Tensor& grad);
  void start_ready_buckets(bool in_backward);
  void finish_overlapped();
  DistEnv env_;
  DistOptions options_;
  torch::Device device_;
  std::string backend_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::train
