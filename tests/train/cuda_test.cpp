// The network, the training step and checkpoints on a CUDA device against
// the CPU (ctest label `gpu`). Where the CUDA module cannot load or no
// device is present, every test is skipped with that reason, and
// `make test` counts the skips under their label.
//
// Tolerances. TF32 is switched off for these comparisons, so fp32 on both
// sides rounds to 24 bits and differs only in summation order: embeddings
// (unit vectors) to 1e-4, gradients to 1e-3 of their largest component.
// bf16 keeps 8 bits: its loss is compared with fp32's to 3e-2, relative.
// Parameters copied between devices are compared bit for bit.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "cuda_test_util.h"
#include "tessera/cuda/sync_check.h"
#include "tessera/device/device_feeder.h"
#include "tessera/device/device_idle.h"
#include "tessera/train/checkpoint.h"
#include "tessera/train/train_step.h"
#include "test_util.h"

namespace tessera::train {
namespace {

// Without dropout unless a test asks for it: the CPU and the GPU draw
// different masks, and so do two runs sharing one generator.
model::ResNetOptions small_net(double dropout = 0.0) {
  model::ResNetOptions o;
  o.width = 8;
  o.embedding_size = 32;
  o.dropout = dropout;
  return o;
}

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = tessera::testing::cuda_unavailable(); !why.empty())
      GTEST_SKIP() << why;
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
    torch::manual_seed(5);
    // Three groups of 4 tiles (anchors, neighbours, opposites), 1 x 64 x 32.
    tiles_ = torch::randn({12, 1, 64, 32});
  }
  model::ResNet net_on(torch::Device device, double dropout = 0.0) {
    torch::manual_seed(3);
    model::ResNet net(small_net(dropout));
    net->to(device);
    return net;
  }
  torch::Tensor tiles_;
};

TEST_F(CudaTest, ForwardMatchesTheCpu) {
  model::ResNet cpu = net_on(torch::kCPU), gpu = net_on(torch::kCUDA);
  cpu->eval();
  gpu->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor a = cpu->forward(tiles_);
  const torch::Tensor b = gpu->forward(tiles_.to(torch::kCUDA)).cpu();
  EXPECT_LT((a - b).abs().max().item<double>(), 1e-4);
}

TEST_F(CudaTest, OneFp32StepMatchesTheCpu) {
  model::ResNet cpu = net_on(torch::kCPU), gpu = net_on(torch::kCUDA);
  torch::optim::Adam cpu_adam(cpu->parameters(), 1e-3), gpu_adam(gpu->parameters(), 1e-3);
  StepRunner cpu_step(cpu, cpu_adam, loss::TripletLoss({}), 1e-4, torch::kCPU);
  StepRunner gpu_step(gpu, gpu_adam, loss::TripletLoss({}), 1e-4, torch::kCUDA);
  const StepResult a = cpu_step.step(tiles_);
  const StepResult b = gpu_step.step(tiles_.to(torch::kCUDA));
  EXPECT_NEAR(b.loss, a.loss, 1e-4 * std::abs(a.loss));
  EXPECT_EQ(b.active, a.active);
  const auto p = cpu->named_parameters(), q = gpu->named_parameters();
  for (const auto& kv : p) {
    const torch::Tensor g = kv.value().grad(), h = q[kv.key()].grad().cpu();
    ASSERT_TRUE(g.defined() && h.defined()) << kv.key();
    const double scale = std::max(g.abs().max().item<double>(), 1e-12);
    EXPECT_LT((g - h).abs().max().item<double>(), 1e-3 * scale) << kv.key();
  }
}

TEST_F(CudaTest, ABf16StepKeepsFp32MasterWeightsAndTheLoss) {
  model::ResNet cpu = net_on(torch::kCPU), gpu = net_on(torch::kCUDA);
  torch::optim::Adam cpu_adam(cpu->parameters(), 1e-3), gpu_adam(gpu->parameters(), 1e-3);
  StepRunner cpu_step(cpu, cpu_adam, loss::TripletLoss({}), 1e-4, torch::kCPU);
  StepRunner gpu_step(gpu, gpu_adam, loss::TripletLoss({}), 1e-4, torch::kCUDA, Precision::kBf16);
  const StepResult a = cpu_step.step(tiles_);
  const StepResult b = gpu_step.step(tiles_.to(torch::kCUDA));
  EXPECT_NEAR(b.loss, a.loss, 3e-2 * std::abs(a.loss));
  for (const auto& p : gpu->parameters()) {
    EXPECT_EQ(p.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
  }
}

// Saved on one device, loaded on the other, both ways: the same values.
TEST_F(CudaTest, CheckpointsMoveBetweenDevicesBothWays) {
  const std::string dir = tessera::testing::fresh_dir();
  for (const bool from_gpu : {true, false}) {
    model::ResNet src = net_on(from_gpu ? torch::kCUDA : torch::kCPU);
    torch::optim::Adam adam(src->parameters(), 1e-3);
    StepRunner step(src, adam, loss::TripletLoss({}), 1e-4, from_gpu ? torch::kCUDA : torch::kCPU);
    step.step(from_gpu ? tiles_.to(torch::kCUDA) : tiles_);
    CheckpointState st;
    st.epoch = 1;
    st.step = 1;
    st.meta = {{"model", "ResNet18"}};
    const std::string path =
        save_checkpoint(dir + (from_gpu ? "/from_gpu" : "/from_cpu"), st, *src, adam);
    torch::manual_seed(77);
    model::ResNet dst(small_net());
    dst->to(from_gpu ? torch::kCPU : torch::kCUDA);
    torch::optim::Adam dst_adam(dst->parameters(), 1e-3);
    load_checkpoint(path, dst.get(), &dst_adam, {{"model", "ResNet18"}});
    const auto p = src->named_parameters(), q = dst->named_parameters();
    const auto target = from_gpu ? torch::kCPU : torch::kCUDA;
    for (const auto& kv : p) {
      EXPECT_EQ(q[kv.key()].device().type(), target) << kv.key();
      EXPECT_TRUE(torch::equal(kv.value().cpu(), q[kv.key()].cpu())) << kv.key();
      const auto& state = static_cast<torch::optim::AdamParamState&>(
          *dst_adam.state().at(q[kv.key()].unsafeGetTensorImpl()));
      EXPECT_EQ(state.exp_avg().device().type(), target) << kv.key();
    }
    // The destination trains on: the optimiser's state is where its weights are.
    StepRunner next(dst, dst_adam, loss::TripletLoss({}), 1e-4, torch::Device(target));
    EXPECT_TRUE(std::isfinite(next.step(tiles_.to(target)).loss));
  }
}

// Dropout on the GPU draws from the device's generator, which a checkpoint
// keeps: a network loaded from the checkpoint of step 1 repeats step 2 with
// the same masks (cuDNN made deterministic). Loaded and then reseeded, it
// draws other masks and gets another loss, so the masks do matter here.
TEST_F(CudaTest, ACheckpointKeepsTheGpusDropoutStream) {
  at::globalContext().setDeterministicCuDNN(true);
  at::globalContext().setBenchmarkCuDNN(false);
  const std::string dir = tessera::testing::fresh_dir();
  const torch::Tensor tiles = tiles_.to(torch::kCUDA);
  model::ResNet a = net_on(torch::kCUDA, 0.5);
  torch::optim::Adam adam_a(a->parameters(), 1e-3);
  StepRunner run_a(a, adam_a, loss::TripletLoss({}), 1e-4, torch::kCUDA);
  run_a.step(tiles);
  CheckpointState st;
  st.epoch = 1;
  st.step = 1;
  st.meta = {{"model", "ResNet18"}};
  const std::string path = save_checkpoint(dir, st, *a, adam_a);
  const double second = run_a.step(tiles).loss;

  const auto resumed = [&](bool reseed) {
    model::ResNet b = net_on(torch::kCUDA, 0.5);
    torch::optim::Adam adam_b(b->parameters(), 1e-3);
    load_checkpoint(path, b.get(), &adam_b, {{"model", "ResNet18"}});
    if (reseed) torch::cuda::manual_seed(99);
    StepRunner run_b(b, adam_b, loss::TripletLoss({}), 1e-4, torch::kCUDA);
    return run_b.step(tiles).loss;
  };
  const double again = resumed(false), reseeded = resumed(true);
  at::globalContext().setDeterministicCuDNN(false);
  EXPECT_NEAR(again, second, 1e-6 * std::abs(second));
  EXPECT_GT(std::abs(reseeded - second), 1e-4 * std::abs(second));
}

// Queuing a step makes the host wait for nothing: with CUDA's sync check
// set to throw, StepRunner::run on tiles already on the device goes through
// in fp32 and bf16. Reading its metrics back is a wait, and the check
// throws there, which shows that it was on.
TEST_F(CudaTest, AQueuedStepDoesNotWaitForTheDevice) {
  const auto set_check = reinterpret_cast<TesseraCudaSetSyncCheck>(
      device::cuda_support_symbol("tessera_cuda_set_sync_check"));
  for (const Precision precision : {Precision::kFp32, Precision::kBf16}) {
    model::ResNet gpu = net_on(torch::kCUDA);
    torch::optim::Adam adam(gpu->parameters(), 1e-3);
    StepRunner runner(gpu, adam, loss::TripletLoss({}), 1e-4, torch::kCUDA, precision);
    const torch::Tensor tiles = tiles_.to(torch::kCUDA);
    runner.step(tiles);  // the first step's one-off set-up may wait
    set_check(2);
    std::vector<StepMetrics> queued;
    try {
      for (int i = 0; i < 3; ++i) queued.push_back(runner.run(tiles));
    } catch (const std::exception& e) {
      set_check(0);
      FAIL() << "a queued step waited for the device: " << e.what();
    }
    EXPECT_THROW(read_metrics(queued), c10::Error);
    set_check(0);
    for (const StepResult& r : read_metrics(queued)) EXPECT_TRUE(std::isfinite(r.loss));
  }
}

void set_lr(torch::optim::Adam& adam, double lr) {
  for (auto& g : adam.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
}

// A step replayed from a CUDA graph does what the same step run eagerly
// does, with the fused update in both: seven steps on new batches, two
// warm-up steps, the capture at the third, a short batch in between (run
// eagerly), and a tenfold learning rate from the sixth step on (which the
// replays must pick up). Losses, weights and the optimiser's host step
// counts agree, in fp32 and bf16; four steps were replays.
TEST_F(CudaTest, AStepReplayedFromAGraphTracksTheEagerStep) {
  for (const Precision precision : {Precision::kFp32, Precision::kBf16}) {
    SCOPED_TRACE(precision == Precision::kBf16 ? "bf16" : "fp32");
    model::ResNet eager_net = net_on(torch::kCUDA), graph_net = net_on(torch::kCUDA);
    const auto start = graph_net->parameters();
    std::vector<torch::Tensor> initial;
    for (const auto& p : start) initial.push_back(p.detach().clone());
    torch::optim::Adam eager_adam(eager_net->parameters(), 1e-3),
        graph_adam(graph_net->parameters(), 1e-3);
    StepOptions e;
    e.precision = precision;
    e.adam = device::AdamUpdate::kFused;
    StepOptions g = e;
    g.cuda_graph = true;
    g.cuda_graph_warmup = 2;
    StepRunner eager(eager_net, eager_adam, loss::TripletLoss({}), 1e-4, torch::kCUDA, e);
    StepRunner graphed(graph_net, graph_adam, loss::TripletLoss({}), 1e-4, torch::kCUDA, g);
    torch::manual_seed(11);
    std::vector<StepMetrics> a, b;
    for (int i = 0; i < 7; ++i) {
      const torch::Tensor tiles =
          torch::randn({i == 4 ? 6 : 12, 1, 64, 32}).to(torch::kCUDA);  // step 5 is short
      const double lr = i < 5 ? 1e-3 : 1e-2;
      set_lr(eager_adam, lr);
      set_lr(graph_adam, lr);
      a.push_back(eager.run(tiles));
      b.push_back(graphed.run(tiles));
    }
    EXPECT_EQ(graphed.graph_replays(), 4);  // steps 3, 4, 6 and 7
    const auto ra = read_metrics(a), rb = read_metrics(b);
    const double tolerance = precision == Precision::kBf16 ? 2e-2 : 1e-3;
    for (std::size_t i = 0; i < ra.size(); ++i) {
      EXPECT_NEAR(rb[i].loss, ra[i].loss, tolerance * std::abs(ra[i].loss)) << "step " << i + 1;
      EXPECT_EQ(rb[i].count, ra[i].count) << "step " << i + 1;
    }
    double gap = 0, moved = 0;
    const auto ea = eager_net->parameters(), gb = graph_net->parameters();
    for (std::size_t i = 0; i < ea.size(); ++i) {
      gap += (gb[i] - ea[i]).pow(2).sum().item<double>();
      moved += (ea[i] - initial[i]).pow(2).sum().item<double>();
    }
    EXPECT_LT(std::sqrt(gap), 0.05 * std::sqrt(moved));
    for (torch::optim::Adam* adam : {&eager_adam, &graph_adam}) {
      for (const auto& p : adam->param_groups()[0].params()) {
        EXPECT_EQ(
            static_cast<torch::optim::AdamParamState&>(*adam->state().at(p.unsafeGetTensorImpl()))
                .step(),
            7);
      }
    }
  }
}

// Dropout inside a captured step still draws new masks on every replay:
// with the learning rate at 0 (the weights stay) the same batch gives a
// different loss each time, as eager steps do.
TEST_F(CudaTest, ReplaysDrawNewDropoutMasks) {
  model::ResNet net = net_on(torch::kCUDA, 0.5);
  torch::optim::Adam adam(net->parameters(), 0.0);
  StepOptions o;
  o.cuda_graph = true;
  o.cuda_graph_warmup = 1;
  StepRunner runner(net, adam, loss::TripletLoss({}), 0.0, torch::kCUDA, o);
  const torch::Tensor tiles = tiles_.to(torch::kCUDA);
  std::vector<StepMetrics> m;
  for (int i = 0; i < 5; ++i) m.push_back(runner.run(tiles));
  EXPECT_EQ(runner.graph_replays(), 4);
  const auto r = read_metrics(m);
  for (std::size_t i = 2; i < r.size(); ++i) {
    EXPECT_NE(r[i].loss, r[i - 1].loss) << "replays " << i - 1 << " and " << i;
  }
}

// Five batches through the feeder's two slots, host blocks reused from a
// page-locked pool, the last batch short: each arrives on the GPU whole.
TEST_F(CudaTest, TheFeederDeliversEveryBatchWhole) {
  const torch::Device gpu(torch::kCUDA);
  const std::int64_t tile = 64 * 32;
  auto pool = sampling::BufferPool::create(3 * 4 * tile, device::DeviceFeeder::host_allocator(gpu));
  device::DeviceFeeder feeder(gpu, {1, 64, 32});
  std::vector<torch::Tensor> sent, arrived;
  auto next = [&](int k) {
    sampling::TripletBatch b;
    b.size = k == 4 ? 2 : 4;
    b.tile_floats = std::size_t(tile);
    b.tiles = pool->take();
    const torch::Tensor host = torch::from_blob(b.tiles.get(), {3 * b.size, 1, 64, 32});
    EXPECT_TRUE(host.is_pinned());
    host.copy_(torch::randn({3 * b.size, 1, 64, 32}));
    sent.push_back(host.clone());
    feeder.push(std::move(b));
  };
  next(0);
  for (int k = 0; k < 5; ++k) {
    const torch::Tensor t = feeder.pop();
    EXPECT_TRUE(t.is_cuda());
    arrived.push_back(t.clone());
    feeder.release();
    if (k + 1 < 5) next(k + 1);
  }
  EXPECT_LE(pool->blocks_made(), 3u);
  for (int k = 0; k < 5; ++k) {
    EXPECT_TRUE(torch::equal(arrived[std::size_t(k)].cpu(), sent[std::size_t(k)])) << "batch " << k;
  }
}

// Two steps of device work with the host asleep for 200 ms between them:
// the meter finds a gap of about that long (the device's clock), and busy
// time for the work itself.
TEST_F(CudaTest, TheIdleMeterSeesTheGapBetweenSteps) {
  device::DeviceIdleMeter idle(torch::kCUDA);
  ASSERT_TRUE(idle.active());
  const torch::Tensor m = torch::randn({2048, 2048}, torch::kCUDA);
  torch::Tensor r;
  idle.begin_loop();
  for (int step = 0; step < 2; ++step) {
    if (step == 1) {
      torch::cuda::synchronize();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    idle.step_begins();
    for (int i = 0; i < 20; ++i) r = torch::matmul(m, m);
    idle.step_ends();
  }
  idle.collect();
  EXPECT_GT(idle.idle_seconds(), 0.15);
  EXPECT_LT(idle.idle_seconds(), 1.0);
  EXPECT_GT(idle.busy_seconds(), 0.0);
  // A new loop does not count the gap before its first step.
  const double before = idle.idle_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  idle.begin_loop();
  idle.step_begins();
  r = torch::matmul(m, m);
  idle.step_ends();
  idle.collect();
  EXPECT_EQ(idle.idle_seconds(), before);
}

}  // namespace
}  // namespace tessera::train
