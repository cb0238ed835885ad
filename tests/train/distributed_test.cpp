// Data-parallel training over c10d Gloo on loopback. Each test forks two
// rank processes (ctest runs every test in a fresh process, so no torch
// thread pool exists yet when it forks); they write their results to files
// that the parent compares.
#include "tessera/train/distributed.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "tessera/model/resnet.h"
#include "tessera/train/train_step.h"
#include "test_util.h"

namespace tessera::train {
namespace {

// Runs body(rank) in two forked processes; returns their exit codes.
template <typename Body>
std::vector<int> run_ranks(Body body, int world = 2) {
  const int port = tessera::testing::free_port();
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      int code = 0;
      try {
        DistEnv env;
        env.rank = r;
        env.world = world;
        env.master_port = port;
        code = body(env);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %d: %s\n", r, e.what());
        code = 3;
      }
      std::fflush(stderr);
      ::_exit(code);
    }
    pids.push_back(pid);
  }
  std::vector<int> codes;
  for (pid_t p : pids) codes.push_back(tessera::testing::wait_exit(p));
  return codes;
}

model::ResNetOptions tiny() {
  model::ResNetOptions o;
  o.width = 4;
  o.embedding_size = 8;
  return o;
}

// Two ranks, each on its half of the batch, a few real training steps: they
// end with bit-identical parameters (same start by broadcast, same averaged
// gradients every step).
TEST(DistributedTest, RanksEndWithIdenticalParameters) {
  const std::string dir = tessera::testing::fresh_dir();
  const auto codes = run_ranks([&](const DistEnv& env) {
    torch::set_num_threads(1);
    torch::manual_seed(100 + env.rank);  // different initial weights on purpose
    DistributedContext ctx(env, DistOptions{}, torch::kCPU);
    model::ResNet net(tiny());
    ctx.broadcast_module(*net);
    torch::optim::Adam adam(net->parameters(), 1e-3);
    StepRunner runner(net, adam, loss::TripletLoss(loss::TripletLossOptions{}), 0.0, torch::kCPU);
    runner.after_backward = [&] { ctx.all_reduce_gradients(*net); };
    for (int s = 0; s < 3; ++s) {
      torch::manual_seed(1000 * s + env.rank);  // each rank its own shard of data
      runner.step(torch::randn({6, 1, 64, 32}));
    }
    std::vector<torch::Tensor> params;
    for (const auto& p : net->parameters()) params.push_back(p.detach().clone());
    torch::save(params, dir + "/rank" + std::to_string(env.rank) + ".pt");
    return 0;
  });
  ASSERT_EQ(codes, (std::vector<int>{0, 0}));
  std::vector<torch::Tensor> a, b;
  torch::load(a, dir + "/rank0.pt");
  torch::load(b, dir + "/rank1.pt");
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
}

// Without batch norm the sync is exact: the average of two half-batch
// gradients equals the gradient of the whole batch's mean loss.
TEST(DistributedTest, AveragedGradientsEqualWholeBatchGradients) {
  const std::string dir = tessera::testing::fresh_dir();
  auto make_net = [] {
    torch::manual_seed(7);
    return torch::nn::Sequential(torch::nn::Linear(5, 16), torch::nn::Tanh(),
                                 torch::nn::Linear(16, 3));
  };
  torch::manual_seed(8);
  const torch::Tensor x = torch::randn({8, 5}), y = torch::randn({8, 3});
  const auto codes = run_ranks([&](const DistEnv& env) {
    torch::set_num_threads(1);
    DistOptions o;
    o.bucket_bytes = 64;  // force several buckets
    DistributedContext ctx(env, o, torch::kCPU);
    auto net = make_net();
    const torch::Tensor xs = x.slice(0, 4 * env.rank, 4 * env.rank + 4),
                        ys = y.slice(0, 4 * env.rank, 4 * env.rank + 4);
    (net->forward(xs) - ys).pow(2).mean().backward();
    ctx.all_reduce_gradients(*net);
    std::vector<torch::Tensor> g;
    for (const auto& p : net->parameters()) g.push_back(p.grad().clone());
    torch::save(g, dir + "/grad" + std::to_string(env.rank) + ".pt");
    return 0;
  });
  ASSERT_EQ(codes, (std::vector<int>{0, 0}));
  auto net = make_net();
  (net->forward(x) - y).pow(2).mean().backward();
  std::vector<torch::Tensor> g0;
  torch::load(g0, dir + "/grad0.pt");
  const auto params = net->parameters();
  ASSERT_EQ(g0.size(), params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(torch::allclose(g0[i], params[i].grad(), 1e-6, 1e-7)) << "parameter " << i;
  }
}

// The training step drops gradients, so a parameter unused on one rank has
// none there. It takes part in the reduction as zeros: both ranks end with
// the same averaged gradient, half of the one rank's own.
TEST(DistributedTest, ParameterUnusedOnOneRankGetsTheAverage) {
  const std::string dir = tessera::testing::fresh_dir();
  const auto codes = run_ranks([&](const DistEnv& env) {
    torch::set_num_threads(1);
    DistOptions o;
    o.bucket_bytes = 64;  // several buckets, which must line up across ranks
    DistributedContext ctx(env, o, torch::kCPU);
    torch::manual_seed(7);
    torch::nn::Linear a(4, 2), b(4, 2);
    torch::nn::Sequential net(a, b);  // a container, to hand both to the context
    const torch::Tensor x = torch::ones({3, 4});
    torch::Tensor loss = a->forward(x).sum();
    if (env.rank == 1) loss = loss + b->forward(x).pow(2).sum();  // b only here
    loss.backward();
    const torch::Tensor local =
        b->weight.grad().defined() ? b->weight.grad().clone() : torch::zeros_like(b->weight);
    ctx.all_reduce_gradients(*net);
    torch::save(std::vector<torch::Tensor>{local, b->weight.grad().clone()},
                dir + "/b" + std::to_string(env.rank) + ".pt");
    return 0;
  });
  ASSERT_EQ(codes, (std::vector<int>{0, 0}));
  std::vector<torch::Tensor> r0, r1;
  torch::load(r0, dir + "/b0.pt");
  torch::load(r1, dir + "/b1.pt");
  EXPECT_TRUE(torch::equal(r0[0], torch::zeros_like(r0[0])));  // rank 0 had no gradient
  EXPECT_GT(r1[0].abs().sum().item<double>(), 0);
  EXPECT_TRUE(torch::equal(r0[1], r1[1]));
  EXPECT_TRUE(torch::allclose(r1[1], r1[0] / 2));
}

// A parameter `b` that only rank 1 uses, registered first so that its
// bucket is the last the backward pass fills; then a small MLP.
struct TwoPartNet : torch::nn::Module {
  TwoPartNet() {
    torch::manual_seed(7);
    b = register_module("b", torch::nn::Linear(4, 2));
    l1 = register_module("l1", torch::nn::Linear(5, 16));
    l2 = register_module("l2", torch::nn::Linear(16, 3));
  }
  torch::Tensor loss(const torch::Tensor& x, const torch::Tensor& y, bool use_b) {
    torch::Tensor l = (l2->forward(torch::tanh(l1->forward(x))) - y).pow(2).mean();
    if (use_b) l = l + b->forward(torch::ones({3, 4})).pow(2).sum();
    return l;
  }
  torch::nn::Linear b{nullptr}, l1{nullptr}, l2{nullptr};
};

// Reduced during the backward pass or after it, the averaged gradients are
// the same bit for bit, step after step, with a parameter unused on one
// rank. Small buckets, and the backward pass must have started at least one
// of them itself (or the overlap would be a reduction after backward in
// disguise).
TEST(DistributedTest, OverlappedReductionEqualsTheReductionAfterBackward) {
  const auto codes = run_ranks([&](const DistEnv& env) {
    torch::set_num_threads(1);
    DistOptions o;
    o.bucket_bytes = 64;
    DistributedContext ctx(env, o, torch::kCPU);
    TwoPartNet overlapped, plain;
    ctx.overlap_gradients(overlapped);
    ctx.overlap_gradients(overlapped);  // again: nothing changes
    for (int step = 0; step < 2; ++step) {
      torch::manual_seed(100 * step + env.rank);
      const torch::Tensor x = torch::randn({4, 5}), y = torch::randn({4, 3});
      for (TwoPartNet* net : {&overlapped, &plain}) {
        for (auto& p : net->parameters()) p.mutable_grad().reset();
        net->loss(x, y, env.rank == 1).backward();
        ctx.all_reduce_gradients(*net);
      }
      if (ctx.buckets_started_in_backward() < 1) return 5;
      const auto a = overlapped.parameters(), b = plain.parameters();
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (!torch::equal(a[i].grad(), b[i].grad())) return 6;
      }
    }
    return 0;
  });
  EXPECT_EQ(codes, (std::vector<int>{0, 0}));
}

TEST(DistributedTest, MetricsAreSummedOverRanks) {
  const std::string dir = tessera::testing::fresh_dir();
  const auto codes = run_ranks([&](const DistEnv& env) {
    DistributedContext ctx(env, DistOptions{}, torch::kCPU);
    std::vector<double> v = {1.0 + env.rank, 10.0};
    ctx.all_reduce_sum(v);
    return v == std::vector<double>{3.0, 20.0} ? 0 : 4;
  });
  EXPECT_EQ(codes, (std::vector<int>{0, 0}));
}

// Rank 1 dies before the collective; rank 0 must fail within the timeout
// instead of hanging.
TEST(DistributedTest, LostPeerEndsTheOtherRankWithinTimeout) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto codes = run_ranks([&](const DistEnv& env) {
    DistOptions o;
    o.timeout_s = 5;
    DistributedContext ctx(env, o, torch::kCPU);
    if (env.rank == 1) ::_exit(9);
    std::vector<double> v = {1.0};
    ctx.all_reduce_sum(v);
    return 0;
  });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(codes[1], 9);
  EXPECT_EQ(codes[0], 3) << "rank 0 must fail with an error";
  EXPECT_LT(secs, 30.0);
}

TEST(DistributedTest, EnvironmentIsValidated) {
  ::setenv("WORLD_SIZE", "2", 1);
  ::setenv("RANK", "5", 1);
  EXPECT_THROW(DistEnv::from_environment(), std::invalid_argument);
  ::setenv("RANK", "1", 1);
  ::setenv("MASTER_PORT", "29999", 1);
  const DistEnv e = DistEnv::from_environment();
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.world, 2);
  EXPECT_EQ(e.master_port, 29999);
  ::unsetenv("WORLD_SIZE");
  ::unsetenv("RANK");
  ::unsetenv("MASTER_PORT");
  EXPECT_FALSE(DistEnv::from_environment().enabled());
}

// One process per GPU: "cuda" means this rank's LOCAL_RANK; an indexed GPU
// or the CPU is kept; a LOCAL_RANK beyond the visible GPUs is refused.
TEST(DistributedTest, EachRankTakesTheGpuOfItsLocalRank) {
  DistEnv one;
  EXPECT_EQ(device_for_rank("cuda", one, 1), "cuda");
  DistEnv e;
  e.world = 4;
  e.rank = 3;
  e.local_rank = 1;
  EXPECT_EQ(device_for_rank("cuda", e, 2), "cuda:1");
  EXPECT_EQ(device_for_rank("cuda:0", e, 2), "cuda:0");
  EXPECT_EQ(device_for_rank("cpu", e, 0), "cpu");
  try {
    device_for_rank("cuda", e, 1);
    FAIL() << "LOCAL_RANK 1 was given a GPU that is not there";
  } catch (const std::invalid_argument& x) {
    EXPECT_NE(std::string(x.what()).find("LOCAL_RANK 1"), std::string::npos) << x.what();
  }
}

}  // namespace
}  // namespace tessera::train
