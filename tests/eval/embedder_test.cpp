// Embedder and its helpers: what `tessera embed`, `classify` and
// `neighbours` compute from a trained model. Checked against the network's
// own forward pass on the same tiles (batch composition must not matter in
// eval mode), label means worked here, and the trainer's seeding.
#include "tessera/eval/embedder.h"
#include "tessera/study/trained_run.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "eval_fixture.h"

namespace tessera::eval {
namespace {

class EmbedderTest : public testing::EvalDataTest {
 protected:
  void SetUp() override {
    EvalDataTest::SetUp();
    model_ =
        TrainedModel{testing::demo_network(config_, 11), study::run_data_options(config_, dir_),
                     nlohmann::json::object(), "", torch::kCPU};
  }
  // Every tile of recording `rec`, stacked.
  torch::Tensor tiles_of(std::size_t rec) const {
    const auto& g = data_->eval->geometry();
    torch::Tensor t = torch::empty({data_->eval->tiles(rec), g.channels, g.tile_frames, g.bins});
    for (int i = 0; i < data_->eval->tiles(rec); ++i)
      data_->eval->copy_tile(rec, i, t.data_ptr<float>() + std::size_t(i) * g.tile_floats());
    return t;
  }
  TrainedModel model_;
};

TEST_F(EmbedderTest, TilesGiveUnitEmbeddingsWhateverTheBatch) {
  const torch::Tensor tiles = torch::cat({tiles_of(0), tiles_of(1), tiles_of(2)});
  const torch::Tensor by3 = Embedder(model_, 3).embed_tiles(tiles);
  const torch::Tensor by64 = Embedder(model_, 64).embed_tiles(tiles);
  ASSERT_EQ(by3.sizes(), (std::vector<std::int64_t>{tiles.size(0), config_.embedding_size}));
  EXPECT_TRUE(torch::allclose(by3, by64, 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(by3.norm(2, 1), torch::ones({tiles.size(0)}), 1e-5, 1e-5));
  // The network's forward pass in eval mode, without the Embedder.
  torch::NoGradGuard no_grad;
  model_.net->eval();
  EXPECT_TRUE(torch::allclose(by64, model_.net->forward(tiles), 1e-4, 1e-5));
}

TEST_F(EmbedderTest, ThePooledLayerIsTheHeadsInput) {
  const torch::Tensor tiles = tiles_of(0);
  const torch::Tensor pooled = Embedder(model_, 8, Layer::kPooled).embed_tiles(tiles);
  torch::NoGradGuard no_grad;
  model_.net->eval();
  EXPECT_TRUE(torch::allclose(pooled, model_.net->pooled(tiles), 1e-4, 1e-5));
  EXPECT_NE(pooled.size(1), config_.embedding_size);
  EXPECT_EQ(parse_layer(layer_name(Layer::kPooled)), Layer::kPooled);
  EXPECT_EQ(parse_layer("embedding"), Layer::kEmbedding);
  EXPECT_THROW(parse_layer("logits"), std::invalid_argument);
}

// A recording's vector is the mean of its tiles' embeddings.
TEST_F(EmbedderTest, ASplitsVectorsAreItsTileMeans) {
  Embedder e(model_, 16);
  const RecordingEmbeddings split = embed_split(e, *data_->eval);
  ASSERT_EQ(split.vectors.size(0), std::int64_t(data_->eval->size()));
  ASSERT_EQ(split.tile_recording.size(), std::size_t(split.tiles.size(0)));
  for (std::size_t r = 0; r < data_->eval->size(); ++r) {
    EXPECT_EQ(split.labels[r], data_->eval->recording(r).label);
    const torch::Tensor tiles = e.embed_recording(*data_->eval, r);
    EXPECT_EQ(tiles.size(0), data_->eval->tiles(r));
    EXPECT_TRUE(torch::allclose(split.vectors[std::int64_t(r)], tiles.mean(0), 1e-5, 1e-6)) << r;
  }
  for (std::size_t t = 0; t < split.tile_recording.size(); ++t)
    EXPECT_EQ(split.tile_labels[t], split.labels[std::size_t(split.tile_recording[t])]);
}

// Files embedded in a stream share forward batches across files; each file
// still gets exactly its own tiles' embeddings (those of embed_features on
// its features alone), and a file that cannot be read is named. The DCASE
// layout fits every clip to sample_size, so the half-second clip has the
// tiles of a 10 s one.
TEST_F(EmbedderTest, FilesGetTheirOwnTilesAcrossSharedBatches) {
  const std::string short_path = dir_ + "/short.wav";
  tessera::testing::write_mono_wav(short_path,
                                   tessera::testing::sine(440, 0.3, 16000, 8000));  // 0.5 s
  std::vector<std::string> files = {data_->eval->recording(0).path, short_path,
                                    data_->eval->recording(1).path, data_->eval->recording(2).path};
  Embedder e(model_, 7);  // batches that split files
  std::vector<torch::Tensor> got(files.size());
  std::vector<std::size_t> order;
  embed_files(e, *data_->cache, data_->eval->geometry(), files, 2,
              [&](std::size_t i, const torch::Tensor& t) {
                order.push_back(i);
                got[i] = t.clone();
              });
  EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2, 3}));
  const auto& g = data_->eval->geometry();
  EXPECT_EQ(got[1].size(0), got[0].size(0));
  EXPECT_GT(got[1].size(0), 1);
  for (std::size_t i = 0; i < files.size(); ++i) {
    const torch::Tensor expected = e.embed_features(*data_->cache->get(files[i]), g);
    ASSERT_EQ(got[i].sizes(), expected.sizes()) << files[i];
    EXPECT_TRUE(torch::allclose(got[i], expected, 1e-4, 1e-5)) << files[i];
  }
  // Recordings of the store: the same as the store's own tiles.
  EXPECT_TRUE(torch::allclose(got[0], e.embed_recording(*data_->eval, 0), 1e-4, 1e-5));
  const std::string broken = dir_ + "/broken.wav";
  tessera::testing::write_text(broken, "not audio");
  try {
    embed_files(e, *data_->cache, data_->eval->geometry(), {broken}, 1,
                [](std::size_t, const torch::Tensor&) {});
    FAIL() << "a broken file was embedded";
  } catch (const std::exception& ex) {
    EXPECT_NE(std::string(ex.what()).find(broken), std::string::npos) << ex.what();
  }
}

// The untrained baseline starts from the run's initial weights: the
// trainer's seed drawn the trainer's way.
TEST_F(EmbedderTest, RandomWeightsAreTheRunsInitialWeights) {
  config_.save(dir_ + "/config.json");
  TrainedModel random = study::random_weights_model(dir_);
  const model::ResNet same = testing::demo_network(config_, std::uint64_t(config_.random_seed));
  const auto a = random.net->named_parameters(), b = same->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& kv : a) EXPECT_TRUE(torch::equal(kv.value(), b[kv.key()])) << kv.key();
  EXPECT_THROW(study::random_weights_model(dir_ + "/missing"), std::runtime_error);
}

// Batch-norm statistics are a plain average over the tiles: one batch of
// all of them and two halves give the same running means. (The first batch
// norm's input does not depend on any batch-norm statistics.)
TEST_F(EmbedderTest, RecalibratedStatisticsArePlainAveragesOverTheTiles) {
  config_.save(dir_ + "/config.json");
  auto first_norm = [](TrainedModel& m) {
    for (auto& mod : m.net->modules(false))
      if (auto bn = std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(mod)) return bn;
    return std::shared_ptr<torch::nn::BatchNorm2dImpl>();
  };
  TrainedModel whole = study::random_weights_model(dir_),
               halves = study::random_weights_model(dir_);
  const torch::Tensor before = first_norm(whole)->running_mean.clone();
  recalibrate_batch_norm(whole, *data_->eval, 32, 32);
  recalibrate_batch_norm(halves, *data_->eval, 32, 16);
  EXPECT_FALSE(whole.net->is_training());
  const auto bn = first_norm(whole);
  EXPECT_FALSE(torch::allclose(bn->running_mean, before));
  EXPECT_TRUE(torch::allclose(bn->running_mean, first_norm(halves)->running_mean, 1e-5, 1e-6));
  EXPECT_EQ(bn->options.momentum(), first_norm(halves)->options.momentum());
  EXPECT_TRUE(bn->options.momentum().has_value());  // restored after the estimate
}

}  // namespace
}  // namespace tessera::eval
