#include "tessera/sampling/batch_pipeline.h"

#include <gtest/gtest.h>

#include <cstring>

#include "tessera/audio/encode.h"
#include "tessera/sampling/tile_statistics.h"
#include "test_util.h"

namespace tessera::sampling {
namespace {

class BatchPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tessera::testing::fresh_dir();
    for (int i = 0; i < 6; ++i) {
      audio::AudioBuffer a;
      a.sample_rate_hz = 16000;
      a.channels = 1;
      a.samples = tessera::testing::sine(200 + 150 * i, 0.2, 16000, 160000);
      // A level that grows over the clip, so that every tile of a recording
      // differs from the others (a steady sine would make them all alike,
      // and a tile from the wrong place would go unnoticed).
      for (std::size_t k = 0; k < a.samples.size(); ++k)
        a.samples[k] *= float(0.1 + 0.9 * double(k) / a.samples.size());
      const std::string path = dir_ + "/r" + std::to_string(i) + ".wav";
      audio::write_wav(path, a);
      recs_.push_back({path, "r" + std::to_string(i) + ".wav", i % 2, ""});
    }
    cache_ = std::make_unique<features::FeatureCache>(dir_ + "/cache", audio::AudioOptions{},
                                                      features::FeatureOptions{});
    data::SkipReport skipped;
    store_ = std::make_unique<TileStore>(
        TileStore::build(recs_, *cache_, TileGeometry{}, 2, 2, skipped));
    specs_ = TripletSampler(SamplerOptions{}).sample(store_->tile_counts(), 0);
  }

  std::vector<TripletBatch> drain(int workers, int batch, int prefetch,
                                  const augment::AugmentOptions& augment = {}, int epoch = 0) {
    PipelineOptions o;
    o.batch_size = batch;
    o.workers = workers;
    o.prefetch_batches = prefetch;
    o.augment = augment;
    o.seed = 42;
    o.epoch = epoch;
    BatchPipeline p(*store_, specs_, o);
    std::vector<TripletBatch> out;
    TripletBatch b;
    while (p.next(b)) out.push_back(std::move(b));
    return out;
  }

  std::string dir_;
  std::vector<data::Recording> recs_;
  std::unique_ptr<features::FeatureCache> cache_;
  std::unique_ptr<TileStore> store_;
  std::vector<TripletSpec> specs_;
};

TEST_F(BatchPipelineTest, BatchesHoldTheRightTiles) {
  const auto batches = drain(2, 4, 3);
  ASSERT_EQ(specs_.size(), 30u);
  ASSERT_EQ(batches.size(), 8u);  // 7 full batches of 4 and one of 2
  EXPECT_EQ(batches.back().size, 2);
  const std::size_t tf = store_->geometry().tile_floats();
  std::vector<float> tile(tf);
  for (std::size_t k = 0; k < batches.size(); ++k) {
    EXPECT_EQ(batches[k].index, k);
    for (int i = 0; i < batches[k].size; ++i) {
      // The epoch's triplets in order, 4 to a batch, each with its own tiles.
      const TripletSpec& s = batches[k].specs[i];
      const TripletSpec& want = specs_[4 * k + i];
      ASSERT_EQ(s.anchor_rec, want.anchor_rec);
      ASSERT_EQ(s.anchor_tile, want.anchor_tile);
      ASSERT_EQ(s.neighbour_tile, want.neighbour_tile);
      ASSERT_EQ(s.opposite_rec, want.opposite_rec);
      ASSERT_EQ(s.opposite_tile, want.opposite_tile);
      store_->copy_tile(s.anchor_rec, s.anchor_tile, tile.data());
      ASSERT_EQ(0, std::memcmp(tile.data(), batches[k].anchor() + i * tf, tf * 4));
      store_->copy_tile(s.opposite_rec, s.opposite_tile, tile.data());
      ASSERT_EQ(0, std::memcmp(tile.data(), batches[k].opposite() + i * tf, tf * 4));
      store_->copy_tile(s.anchor_rec, s.neighbour_tile, tile.data());
      ASSERT_EQ(0, std::memcmp(tile.data(), batches[k].neighbour() + i * tf, tf * 4));
    }
  }
}

// Same triplets in the same order with one worker or many.
TEST_F(BatchPipelineTest, OrderDoesNotDependOnWorkers) {
  const auto one = drain(1, 3, 2);
  const auto many = drain(4, 3, 8);
  ASSERT_EQ(one.size(), many.size());
  for (std::size_t k = 0; k < one.size(); ++k) {
    ASSERT_EQ(one[k].floats(), many[k].floats());
    EXPECT_EQ(0, std::memcmp(one[k].tiles.get(), many[k].tiles.get(), one[k].floats() * 4));
  }
}

// A consumer that lets go of each batch before taking the next gets its
// blocks back: an epoch of 8 batches with 3 in flight makes at most 4 (the
// 3 prefetched and the one being used). A second epoch on the same pool
// makes none, and its batches are the first epoch's, tile for tile.
TEST_F(BatchPipelineTest, BlocksComeBackToThePool) {
  PipelineOptions o;
  o.batch_size = 4;
  o.workers = 2;
  o.prefetch_batches = 3;
  const std::size_t batch_floats = 3 * 4 * store_->geometry().tile_floats();
  auto pool = BufferPool::create(batch_floats);
  const auto reference = drain(2, 4, 3);
  for (int epoch = 0; epoch < 2; ++epoch) {
    BatchPipeline p(*store_, specs_, o, pool);
    TripletBatch b;
    std::size_t k = 0;
    while (p.next(b)) {
      ASSERT_EQ(b.floats(), reference[k].floats());
      ASSERT_EQ(0, std::memcmp(b.tiles.get(), reference[k].tiles.get(), b.floats() * 4)) << k;
      ++k;
    }
    EXPECT_EQ(k, 8u);
  }
  EXPECT_GE(pool->blocks_made(), 1u);
  EXPECT_LE(pool->blocks_made(), 4u);
  // A pool whose blocks cannot hold a batch is refused.
  EXPECT_THROW(BatchPipeline(*store_, specs_, o, BufferPool::create(batch_floats - 1)),
               std::invalid_argument);
}

TEST_F(BatchPipelineTest, StoppingEarlyJoinsWorkers) {
  PipelineOptions o;
  o.batch_size = 2;
  o.workers = 4;
  o.prefetch_batches = 2;
  for (int i = 0; i < 20; ++i) {
    BatchPipeline p(*store_, specs_, o);
    TripletBatch b;
    ASSERT_TRUE(p.next(b));
  }  // destructors must not hang or leak threads
}

// Table 1's 2048 prefetched batches of 256 triplets of 198x128 tiles would
// need 3 * 256 * 198 * 128 * 4 B = 74.25 MiB each, ~150 GiB in all; a
// 2048 MiB budget holds floor(2048 / 74.25) = 27 of them.
TEST(PipelineOptionsTest, PrefetchIsCappedByMemory) {
  PipelineOptions o;
  o.memory_budget_mb = 2048;
  EXPECT_EQ(o.effective_prefetch(198 * 128), 27);
  o.memory_budget_mb = 1;
  EXPECT_EQ(o.effective_prefetch(198 * 128), 1);
}

std::vector<float> floats_of(const std::vector<TripletBatch>& batches) {
  std::vector<float> out;
  for (const auto& b : batches) out.insert(out.end(), b.tiles.get(), b.tiles.get() + b.floats());
  return out;
}

// Augmented views are drawn from (seed, epoch, triplet): the same whatever
// the workers, different in another epoch, and absent when the options are
// off, as in evaluation.
TEST_F(BatchPipelineTest, AugmentedBatchesAreRepeatableAndOnlyWhereAsked) {
  augment::AugmentOptions aug;
  aug.mixback_probability = 0.7;
  aug.gain_probability = 0.7;
  aug.time_mask_probability = 0.5;
  aug.freq_mask_probability = 0.5;
  const std::vector<float> plain = floats_of(drain(1, 4, 2));
  const std::vector<float> one = floats_of(drain(1, 4, 2, aug, 3));
  const std::vector<float> three = floats_of(drain(3, 4, 5, aug, 3));
  const std::vector<float> other_epoch = floats_of(drain(2, 4, 2, aug, 4));
  ASSERT_EQ(one.size(), plain.size());
  EXPECT_EQ(one, three);
  EXPECT_NE(one, plain);
  EXPECT_NE(one, other_epoch);
  EXPECT_EQ(floats_of(drain(2, 4, 2, {}, 3)), plain);
}

// The input statistics against a plain two-pass computation over every
// value of every tile.
TEST_F(BatchPipelineTest, TileStatisticsAreTheMeanAndStdOfEveryTileValue) {
  const std::size_t n = store_->geometry().tile_floats();
  std::vector<float> all, tile(n);
  for (std::size_t r = 0; r < store_->size(); ++r) {
    for (int t = 0; t < store_->tiles(r); ++t) {
      store_->copy_tile(r, t, tile.data());
      all.insert(all.end(), tile.begin(), tile.end());
    }
  }
  double sum = 0;
  for (float v : all) sum += v;
  const double mean = sum / double(all.size());
  double sq = 0;
  for (float v : all) sq += (v - mean) * (v - mean);
  const TileStatistics st = tile_statistics(*store_);
  EXPECT_EQ(st.values, all.size());
  EXPECT_NEAR(st.mean, mean, 1e-9 * std::abs(mean) + 1e-12);
  EXPECT_NEAR(st.std, std::sqrt(sq / double(all.size())), 1e-9);
  EXPECT_GT(st.std, 0.1);
}

}  // namespace
}  // namespace tessera::sampling
