// EpochEvaluator: the end-of-epoch numbers and files of `tessera train`.
// Checked against independent paths rather than its own arithmetic:
// - each anchor row equals the Embedder's embedding of the tile its name
//   and metadata point to;
// - the centroid matrix equals label means and Euclidean distances computed
//   here in double;
// - with a margin beyond any squared distance of unit vectors (4), every
//   triplet is active and the mean hinge is exactly d(a,n) - d(a,o) + margin;
// - the network is back in training mode afterwards.
#include "tessera/eval/epoch_evaluator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "eval_fixture.h"
#include "tessera/eval/embedder.h"

namespace tessera::eval {
namespace {

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class EpochEvaluatorTest : public testing::EvalDataTest {
 protected:
  void SetUp() override {
    EvalDataTest::SetUp();
    net_ = testing::demo_network(config_, 7);
  }
  model::ResNet net_{nullptr};
};

TEST_F(EpochEvaluatorTest, AnchorRowsAreTheNamedTilesEmbeddings) {
  EpochEvaluator evaluate(study::evaluator_options(config_), *data_->eval, data_->dataset.labels,
                          dir_, torch::kCPU);
  net_->train();
  const train::EpochEval r = evaluate(net_, 1);
  EXPECT_TRUE(net_->is_training());
  const EmbeddedSet& set = evaluate.last();
  const std::int64_t n = set.embeddings.size(0);
  ASSERT_GT(n, 16);
  ASSERT_EQ(set.names.size(), std::size_t(n));
  EXPECT_EQ(r.embeddings_dir, "eval/epoch_1");
  const std::string files = dir_ + "/eval/epoch_1";
  EXPECT_EQ(lines(files + "/embeddings.tsv").size(), std::size_t(n));
  EXPECT_EQ(lines(files + "/names.tsv"), set.names);
  const auto meta = lines(files + "/metadata.tsv");
  ASSERT_EQ(meta.size(), std::size_t(n) + 1);
  EXPECT_EQ(meta[0], "label\tfile\ttile_start");

  TrainedModel model{net_, study::run_data_options(config_, dir_), nlohmann::json::object(), "",
                     torch::kCPU};
  Embedder embedder(model, 64);
  for (std::int64_t i = 0; i < n; i += 7) {
    const std::size_t rec = std::size_t(set.recordings[std::size_t(i)]);
    const int tile = int(std::lround(set.tile_starts[std::size_t(i)] / config_.sample_tile_size));
    ASSERT_LT(tile, data_->eval->tiles(rec));
    EXPECT_EQ(set.names[std::size_t(i)], data_->eval->tile_name(rec, tile));
    EXPECT_EQ(set.labels[std::size_t(i)], data_->eval->recording(rec).label);
    const torch::Tensor expected = embedder.embed_recording(*data_->eval, rec)[tile];
    EXPECT_TRUE(torch::allclose(set.embeddings[i], expected, 1e-4, 1e-5))
        << "anchor " << i << " (" << set.names[std::size_t(i)] << ")";
  }
}

TEST_F(EpochEvaluatorTest, CentroidDistancesAreThoseOfTheLabelMeans) {
  EpochEvaluator evaluate(study::evaluator_options(config_), *data_->eval, data_->dataset.labels,
                          dir_, torch::kCPU);
  const train::EpochEval r = evaluate(net_, 3);
  const EmbeddedSet& set = evaluate.last();
  const int k = int(data_->dataset.labels.size());
  ASSERT_EQ(r.labels, k);
  ASSERT_EQ(r.centroid_distances.size(), std::size_t(k * k));
  const torch::Tensor e = set.embeddings.to(torch::kFloat64);
  std::vector<torch::Tensor> means;
  means.resize(std::size_t(k));
  for (int c = 0; c < k; ++c) {
    std::vector<std::int64_t> rows;
    for (std::size_t i = 0; i < set.labels.size(); ++i)
      if (set.labels[i] == c) rows.push_back(std::int64_t(i));
    ASSERT_FALSE(rows.empty()) << "label " << c << " has no anchor";
    means[std::size_t(c)] = e.index_select(0, torch::tensor(rows)).mean(0);
  }
  const auto csv = lines(dir_ + "/eval/epoch_3/centroid_distances.csv");
  ASSERT_EQ(csv.size(), std::size_t(k) + 1);
  for (int a = 0; a < k; ++a) {
    for (int b = 0; b < k; ++b) {
      const double d = (means[std::size_t(a)] - means[std::size_t(b)]).norm().item<double>();
      EXPECT_NEAR(r.centroid_distances[std::size_t(a * k + b)], d, 1e-6 + 1e-6 * d)
          << a << "," << b;
    }
  }
  EXPECT_EQ(csv[0].substr(0, 6), "label,");
}

TEST_F(EpochEvaluatorTest, AMarginNoTripletSatisfiesGivesTheMeanHingeExactly) {
  EpochEvaluator plain(study::evaluator_options(config_), *data_->eval, data_->dataset.labels, dir_,
                       torch::kCPU);
  study::Config wide = config_;
  wide.margin = 20.0;  // squared distances of unit vectors lie in [0, 4]
  EpochEvaluator all_active(study::evaluator_options(wide), *data_->eval, data_->dataset.labels,
                            dir_, torch::kCPU);
  const train::EpochEval a = plain(net_, 1);
  const train::EpochEval b = all_active(net_, 1);
  // The same eval triplets, whatever the margin.
  EXPECT_EQ(a.dist_neighbour, b.dist_neighbour);
  EXPECT_EQ(a.dist_opposite, b.dist_opposite);
  EXPECT_EQ(b.active_fraction, 1.0);
  EXPECT_NEAR(b.triplet_loss, b.dist_neighbour - b.dist_opposite + 20.0, 1e-5);
  // Jensen: the mean hinge is at least the hinge of the means.
  EXPECT_GE(a.triplet_loss + 1e-6,
            std::max(0.0, a.dist_neighbour - a.dist_opposite + config_.margin));
  EXPECT_GE(a.active_fraction, 0.0);
  EXPECT_LE(a.active_fraction, 1.0);
  // Evaluated twice, the same network gives the same numbers: the loss bit
  // for bit; silhouette and centroid distances to 1e-9, as they go through
  // MKL's matrix products, whose last bits can follow the buffers'
  // alignment (seen under ctest -j2).
  const train::EpochEval again = plain(net_, 2);
  EXPECT_EQ(again.triplet_loss, a.triplet_loss);
  EXPECT_NEAR(again.silhouette, a.silhouette, 1e-9);
  ASSERT_EQ(again.centroid_distances.size(), a.centroid_distances.size());
  for (std::size_t i = 0; i < a.centroid_distances.size(); ++i)
    EXPECT_NEAR(again.centroid_distances[i], a.centroid_distances[i], 1e-9) << i;
}

}  // namespace
}  // namespace tessera::eval
