#include "tessera/model/resnet.h"

#include <gtest/gtest.h>

namespace tessera::model {
namespace {

ResNetOptions small(int depth) {
  ResNetOptions o;
  o.depth = depth;
  o.width = 4;
  o.embedding_size = 16;
  return o;
}

TEST(ResNetTest, OutputIsUnitNormEmbedding) {
  for (int depth : {18, 34, 50}) {
    torch::manual_seed(0);
    ResNet net(small(depth));
    const torch::Tensor x = torch::randn({3, 1, 198, 128});
    const torch::Tensor e = net->forward(x);
    ASSERT_EQ(e.sizes(), (std::vector<int64_t>{3, 16})) << depth;
    EXPECT_TRUE(torch::allclose(e.norm(2, 1), torch::ones({3}), 1e-5, 1e-5)) << depth;
  }
}

// Per-channel embeddings are concatenated and scaled to unit length.
TEST(ResNetTest, MultiChannelConcatenates) {
  ResNet net(small(18));
  net->eval();
  const torch::Tensor x = torch::randn({2, 4, 198, 128});
  const torch::Tensor e = net->forward(x);
  ASSERT_EQ(e.sizes(), (std::vector<int64_t>{2, 64}));
  EXPECT_TRUE(torch::allclose(e.norm(2, 1), torch::ones({2}), 1e-5, 1e-5));
  const torch::Tensor c2 = net->forward(x.slice(1, 2, 3));
  EXPECT_TRUE(torch::allclose(e.slice(1, 32, 48) * 2.0, c2, 1e-5, 1e-5));
}

// The pooled features are what the head projects: 8 x width of them for
// ResNet18 (the last stage's filters), averages of ReLU outputs (>= 0), one
// block per channel, and forward() is the unit-normalised head of them.
TEST(ResNetTest, PooledFeaturesFeedTheHead) {
  torch::manual_seed(0);
  ResNet net(small(18));
  net->eval();
  EXPECT_EQ(net->pooled_size(), 32);
  const torch::Tensor x = torch::randn({2, 3, 198, 128});
  const torch::Tensor p = net->pooled(x);
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{2, 96}));
  EXPECT_GE(p.min().item<double>(), 0.0);
  const torch::Tensor p1 = net->pooled(x.slice(1, 1, 2));
  EXPECT_TRUE(torch::allclose(p.slice(1, 32, 64), p1, 1e-5, 1e-6));
  torch::nn::Linear head = nullptr;
  for (const auto& m : net->named_children())
    if (m.key() == "head")
      head = torch::nn::Linear(std::dynamic_pointer_cast<torch::nn::LinearImpl>(m.value()));
  ASSERT_TRUE(head);
  const torch::Tensor e = torch::nn::functional::normalize(
      head(p1), torch::nn::functional::NormalizeFuncOptions().p(2).dim(1));
  EXPECT_TRUE(torch::allclose(e, net->forward(x.slice(1, 1, 2)), 1e-5, 1e-6));
}

// torchvision's resnet18 has 11,689,512 parameters with a 3-channel 7x7 stem
// (9,408) and a 512->1000 head (513,000). With one input channel (3,136) and
// a 512->512 head (262,656): 11,689,512 - 9,408 + 3,136 - 513,000 + 262,656.
TEST(ResNetTest, ResNet18HasTorchvisionParameterCount) {
  ResNetOptions o;
  ResNet net(o);
  EXPECT_EQ(parameter_count(net), 11432896);
}

TEST(ResNetTest, EvalModeIsDeterministic) {
  ResNet net(small(18));
  net->eval();
  const torch::Tensor x = torch::randn({2, 1, 198, 128});
  EXPECT_TRUE(torch::equal(net->forward(x), net->forward(x)));
}

// A gain of g is a constant offset log(g) of a log-mel tile: with tile_mean
// normalisation the embedding ignores it, without it the embedding moves.
TEST(ResNetTest, TileMeanNormalisationIgnoresRecordingLevel) {
  const torch::Tensor x = torch::randn({2, 1, 198, 128});
  const torch::Tensor louder = x + std::log(10.0);  // +20 dB
  for (const char* mode : {"tile_mean", "none"}) {
    ResNetOptions o = small(18);
    o.input_normalisation = mode;
    torch::manual_seed(0);
    ResNet net(o);
    net->eval();
    const double moved = (net->forward(louder) - net->forward(x)).abs().max().item<double>();
    if (std::string(mode) == "tile_mean")
      EXPECT_LT(moved, 1e-4) << mode;
    else
      EXPECT_GT(moved, 1e-2) << mode;
  }
}

TEST(ResNetTest, BadOptionsAreRejected) {
  ResNetOptions o;
  o.depth = 101;
  EXPECT_THROW(ResNet{o}, std::invalid_argument);
  o.depth = 18;
  o.input_normalisation = "per_bin";
  EXPECT_THROW(ResNet{o}, std::invalid_argument);
}

// Time-statistics pooling, computed by hand from the last stage's maps:
// for every channel c and bin f, the mean and the max over the frames, means
// first, laid out channel-major (c * F' + f).
TEST(ResNetTest, TimeStatisticsPoolingIsTheMeanAndMaxOverTimeOfEachChannelAndBin) {
  torch::manual_seed(4);
  ResNetOptions o = small(18);
  o.pooling = Pooling::kTimeStats;
  o.input_bins = 64;
  ResNet net(o);
  net->eval();
  const torch::Tensor x = torch::randn({2, 1, 100, 64});
  const torch::Tensor maps = net->body(x);  // [2, 32, T', 2]
  ASSERT_EQ(maps.size(3), pooled_bins(64));
  const torch::Tensor p = net->pooled(x);
  const std::int64_t c = maps.size(1), t = maps.size(2), f = maps.size(3);
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{2, 2 * c * f}));
  EXPECT_EQ(net->pooled_size(), 2 * c * f);
  auto m = maps.accessor<float, 4>();
  auto got = p.accessor<float, 2>();
  for (int b = 0; b < 2; ++b) {
    for (int ch = 0; ch < c; ++ch) {
      for (int bin = 0; bin < f; ++bin) {
        double sum = 0, top = -1e30;
        for (int fr = 0; fr < t; ++fr) {
          sum += m[b][ch][fr][bin];
          top = std::max(top, double(m[b][ch][fr][bin]));
        }
        ASSERT_NEAR(got[b][ch * f + bin], sum / t, 1e-5) << b << " " << ch << " " << bin;
        ASSERT_FLOAT_EQ(got[b][c * f + ch * f + bin], float(top)) << b << " " << ch << " " << bin;
      }
    }
  }
  // Different bins give different pooled sizes: the head is sized for them.
  for (int bins : {128, 40, 13}) {
    o.input_bins = bins;
    ResNet other(o);
    other->eval();
    EXPECT_EQ(other->pooled(torch::randn({1, 1, 60, bins})).size(1), other->pooled_size()) << bins;
  }
}

// The MLP head: Linear, ReLU, Linear from the pooled layer, unit length.
TEST(ResNetTest, MlpHeadProjectsThePooledLayerThroughOneHiddenLayer) {
  torch::manual_seed(5);
  ResNetOptions o = small(18);
  o.head = Head::kMlp;
  o.head_hidden = 24;
  ResNet net(o);
  net->eval();
  torch::nn::Linear hidden = nullptr, head = nullptr;
  for (const auto& m : net->named_children()) {
    auto lin = std::dynamic_pointer_cast<torch::nn::LinearImpl>(m.value());
    if (m.key() == "head_hidden") hidden = torch::nn::Linear(lin);
    if (m.key() == "head") head = torch::nn::Linear(lin);
  }
  ASSERT_TRUE(hidden && head);
  EXPECT_EQ(hidden->weight.sizes(), (std::vector<int64_t>{24, 32}));
  EXPECT_EQ(head->weight.sizes(), (std::vector<int64_t>{16, 24}));
  const torch::Tensor x = torch::randn({3, 1, 80, 128});
  const torch::Tensor want =
      torch::nn::functional::normalize(head(torch::relu(hidden(net->pooled(x)))),
                                       torch::nn::functional::NormalizeFuncOptions().p(2).dim(1));
  EXPECT_TRUE(torch::allclose(net->forward(x), want, 1e-5, 1e-6));
}

// Dataset standardisation: the network with statistics (m, s) on x equals
// the same weights without normalisation on (x - m) / s; the statistics
// travel with the state (buffers), and only "dataset" has them.
TEST(ResNetTest, DatasetStandardisationAppliesTheStoredStatistics) {
  torch::manual_seed(6);
  ResNetOptions o = small(18);
  o.input_normalisation = "dataset";
  ResNet net(o);
  net->set_input_statistics(-4.5, 2.5);
  net->eval();
  torch::manual_seed(6);
  ResNet plain(small(18));
  plain->eval();
  const torch::Tensor x = torch::randn({2, 1, 60, 128}) * 3 - 5;
  EXPECT_TRUE(torch::allclose(net->forward(x), plain->forward((x + 4.5) / 2.5), 1e-5, 1e-6));
  EXPECT_EQ(net->input_statistics(), (std::pair<double, double>{-4.5, 2.5}));
  EXPECT_EQ(net->named_buffers().contains("input_mean"), true);
  EXPECT_EQ(plain->named_buffers().contains("input_mean"), false);
  EXPECT_THROW(plain->set_input_statistics(0, 1), std::logic_error);
  EXPECT_THROW(net->set_input_statistics(0, 0), std::invalid_argument);
}

TEST(ResNetTest, ParsesPoolingAndHeadNames) {
  EXPECT_EQ(parse_pooling("time_stats"), Pooling::kTimeStats);
  EXPECT_EQ(pooling_name(Pooling::kAverage), "average");
  EXPECT_EQ(parse_head("mlp"), Head::kMlp);
  EXPECT_THROW(parse_pooling("max"), std::invalid_argument);
  EXPECT_THROW(parse_head("deep"), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::model
