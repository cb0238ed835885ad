// One optimisation step (train/train_step.h), in fp32 and in bf16.
#include "tessera/train/train_step.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tessera::train {

// For gtest's parameter printing.
void PrintTo(Layout layout, std::ostream* os) {
  *os << (layout == Layout::kAuto ? "auto" : layout == Layout::kNchw ? "nchw" : "nhwc");
}

namespace {

model::ResNetOptions tiny() {
  model::ResNetOptions o;
  o.width = 8;
  o.embedding_size = 16;
  o.dropout = 0.0;  // the two runs below must see the same network
  return o;
}

struct Trained {
  std::vector<double> losses;
  std::vector<torch::Tensor> params;
};

// `steps` steps on one fixed batch of 4 triplets of 198x128 tiles.
Trained train(Precision precision, int steps, Layout layout = Layout::kAuto) {
  torch::manual_seed(0);
  model::ResNet net(tiny());
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
  StepRunner runner(net, adam, loss::TripletLoss(loss::TripletLossOptions{}), 0.0, torch::kCPU,
                    precision, layout);
  EXPECT_EQ(runner.bf16_channels_last(), precision == Precision::kBf16 && layout != Layout::kNchw);
  EXPECT_FALSE(runner.channels_last_weights());
  torch::manual_seed(1);
  const torch::Tensor tiles = torch::randn({12, 1, 198, 128});
  Trained r;
  for (int i = 0; i < steps; ++i) r.losses.push_back(runner.step(tiles).loss);
  for (const auto& p : net->parameters()) r.params.push_back(p.detach().clone());
  return r;
}

// bf16 keeps fp32 master weights and computes the loss in fp32: its first
// loss (before any update) is the fp32 one to bf16 precision, its weights
// stay fp32 (and NCHW), and the first update moves them like fp32's does;
// on NHWC activations (the default) and on NCHW.
class Bf16StepTest : public ::testing::TestWithParam<Layout> {};

TEST_P(Bf16StepTest, TracksFp32) {
  const Trained f = train(Precision::kFp32, 1), b = train(Precision::kBf16, 1, GetParam());
  EXPECT_NEAR(b.losses[0], f.losses[0], 0.02 * std::abs(f.losses[0]));
  const Trained start = [] {
    torch::manual_seed(0);
    model::ResNet net(tiny());
    Trained r;
    for (const auto& p : net->parameters()) r.params.push_back(p.detach().clone());
    return r;
  }();
  double dot = 0, nf = 0, nb = 0;
  for (std::size_t i = 0; i < f.params.size(); ++i) {
    EXPECT_EQ(b.params[i].scalar_type(), torch::kFloat32);
    EXPECT_TRUE(b.params[i].is_contiguous());
    const torch::Tensor df = (f.params[i] - start.params[i]).to(torch::kFloat64);
    const torch::Tensor db = (b.params[i] - start.params[i]).to(torch::kFloat64);
    dot += (df * db).sum().item<double>();
    nf += df.pow(2).sum().item<double>();
    nb += db.pow(2).sum().item<double>();
  }
  // Adam's first step is about lr * sign(gradient) per weight, so this is
  // the share of weights whose gradient has the same sign in both.
  EXPECT_GT(dot / std::sqrt(nf * nb), 0.8);
}
INSTANTIATE_TEST_SUITE_P(Layouts, Bf16StepTest, ::testing::Values(Layout::kAuto, Layout::kNchw),
                         [](const auto& info) {
                           return info.param == Layout::kAuto ? "Nhwc" : "Nchw";
                         });

// Both precisions learn: on a fixed batch the loss falls.
TEST(TrainStepTest, BothPrecisionsReduceTheLossOnAFixedBatch) {
  for (Precision p : {Precision::kFp32, Precision::kBf16}) {
    const Trained r = train(p, 12);
    EXPECT_LT(r.losses.back(), 0.5 * r.losses.front())
        << (p == Precision::kBf16 ? "bf16" : "fp32") << ": " << r.losses.front() << " -> "
        << r.losses.back();
  }
}

// The fused update (fused_adam.h) in a whole step: the first loss is the
// loop's exactly (no update has happened), and after four steps the losses
// and weights still agree to float precision.
TEST(TrainStepTest, TheFusedUpdateTracksTheLoop) {
  const auto run = [](device::AdamUpdate update) {
    torch::manual_seed(0);
    model::ResNet net(tiny());
    torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
    StepOptions o;
    o.adam = update;
    StepRunner runner(net, adam, loss::TripletLoss(loss::TripletLossOptions{}), 1e-4, torch::kCPU,
                      o);
    EXPECT_EQ(runner.adam_update(), update);
    torch::manual_seed(1);
    const torch::Tensor tiles = torch::randn({12, 1, 198, 128});
    Trained r;
    for (int i = 0; i < 4; ++i) r.losses.push_back(runner.step(tiles).loss);
    for (const auto& p : net->parameters()) r.params.push_back(p.detach().clone());
    EXPECT_EQ(runner.graph_replays(), 0);
    return r;
  };
  const Trained loop = run(device::AdamUpdate::kLoop), fused = run(device::AdamUpdate::kFused);
  EXPECT_EQ(fused.losses[0], loop.losses[0]);
  EXPECT_LT(loop.losses[3], loop.losses[0]);
  for (int i = 1; i < 4; ++i) EXPECT_NEAR(fused.losses[i], loop.losses[i], 1e-5 * loop.losses[i]);
  // Adam moves a weight by about lr whatever its gradient's size, so one
  // whose gradient is near zero may move either way after a rounding; the
  // weights are compared as a whole, against how far the loop moved them.
  torch::manual_seed(0);
  const auto start = model::ResNet(tiny())->parameters();
  double gap = 0, moved = 0;
  for (std::size_t i = 0; i < loop.params.size(); ++i) {
    gap += (fused.params[i] - loop.params[i]).pow(2).sum().item<double>();
    moved += (loop.params[i] - start[i]).pow(2).sum().item<double>();
  }
  EXPECT_LT(std::sqrt(gap), 1e-3 * std::sqrt(moved));
  // Rounded differently over thousands of weights, the two cannot agree bit
  // for bit: equal weights would mean the fused update never ran.
  EXPECT_GT(gap, 0.0);
}

// A CUDA graph needs a GPU, the fused update and a warm-up step: each
// missing one is refused by name, also by the runner's constructor.
TEST(StepOptionsTest, ACudaGraphNeedsAGpuTheFusedUpdateAndAWarmUp) {
  StepOptions o;
  o.cuda_graph = true;
  EXPECT_NO_THROW(o.validate(torch::Device("cuda:0")));
  const auto refused = [](const StepOptions& bad, const torch::Device& device) {
    try {
      bad.validate(device);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refused(o, torch::kCPU).find("needs a CUDA device"), std::string::npos);
  StepOptions loop = o;
  loop.adam = device::AdamUpdate::kLoop;
  EXPECT_NE(refused(loop, torch::kCUDA).find("fused Adam"), std::string::npos);
  StepOptions cold = o;
  cold.cuda_graph_warmup = 0;
  EXPECT_NE(refused(cold, torch::kCUDA).find("cuda_graph_warmup"), std::string::npos);
  StepOptions off;
  off.adam = device::AdamUpdate::kLoop;
  EXPECT_NO_THROW(off.validate(torch::kCPU));

  model::ResNet net(tiny());
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
  EXPECT_THROW(StepRunner(net, adam, loss::TripletLoss({}), 0.0, torch::kCPU, o),
               std::invalid_argument);
}

// The study's step as it was written before the objectives: one forward
// pass of the 3B tiles, the triplet loss on its three parts, the L2 penalty,
// backward and Adam, spelled out here. A StepRunner with the study's
// objective must give the same losses and weights, bit for bit.
TEST(StepRunnerTest, TheStudysObjectiveTakesTheStepsOfTheStudysLoss) {
  torch::manual_seed(1);
  const torch::Tensor tiles = torch::randn({12, 1, 198, 128});
  const loss::TripletLoss study(loss::TripletLossOptions{0.5, loss::Reduction::kZeroFiltered});
  torch::manual_seed(0);
  model::ResNet net(tiny());
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
  StepRunner runner(net, adam, study, 1e-4, torch::kCPU);
  torch::manual_seed(0);
  model::ResNet ref(tiny());
  torch::optim::Adam ref_adam(ref->parameters(), torch::optim::AdamOptions(1e-3));
  for (int step = 0; step < 3; ++step) {
    const StepResult got = runner.step(tiles);
    ref->train();
    const auto parts = ref->forward(tiles).split(4, 0);
    const torch::Tensor total =
        study.compute(parts[0], parts[1], parts[2]).loss + loss::l2_penalty(*ref, 1e-4);
    ref_adam.zero_grad();
    total.backward();
    ref_adam.step();
    EXPECT_EQ(got.loss, total.item<double>()) << "step " << step;
  }
  const auto a = net->parameters(), b = ref->parameters();
  for (std::size_t k = 0; k < a.size(); ++k) EXPECT_TRUE(torch::equal(a[k], b[k])) << k;
}

// The recording ids reach the objective: with nt_xent, a batch whose
// triplets are all of one recording has no negative but the opposites, and
// its loss differs from the same batch taken as distinct recordings.
TEST(StepRunnerTest, RecordingIdsReachTheObjective) {
  torch::manual_seed(1);
  const torch::Tensor tiles = torch::randn({12, 1, 198, 128});
  auto first_loss = [&](const torch::Tensor& recordings) {
    torch::manual_seed(0);
    model::ResNet net(tiny());
    torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
    loss::ObjectiveOptions o;
    o.kind = loss::ObjectiveKind::kNtXent;
    StepRunner runner(net, adam, loss::Objective(o), 0.0, torch::kCPU);
    return runner.step(tiles, recordings).loss;
  };
  const torch::Tensor one = torch::tensor({0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, torch::kInt64);
  const double distinct = first_loss({}), shared = first_loss(one);
  EXPECT_TRUE(std::isfinite(distinct) && std::isfinite(shared));
  EXPECT_GT(std::abs(distinct - shared), 1e-4);
  EXPECT_THROW(first_loss(torch::zeros({5}, torch::kInt64)), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::train
