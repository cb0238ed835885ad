// The tile index `tessera embed --tiles` writes and the exact search
// `tessera neighbours` runs: against a brute-force search written out here
// with plain loops, and the index reader against files written by hand.
#include "tessera/eval/tile_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <utility>

#include "tessera/common/npy.h"
#include "test_util.h"

namespace tessera::eval {
namespace {

using tessera::testing::fresh_dir;
using tessera::testing::write_text;

// Every row's squared distance by two nested loops, then a full stable sort.
std::vector<std::pair<double, std::int64_t>> brute_force(const std::vector<float>& rows,
                                                         std::int64_t n, std::int64_t dim,
                                                         const std::vector<float>& q) {
  std::vector<std::pair<double, std::int64_t>> all;
  for (std::int64_t i = 0; i < n; ++i) {
    double d = 0;
    for (std::int64_t j = 0; j < dim; ++j) {
      const double diff = double(rows[i * dim + j]) - double(q[j]);
      d += diff * diff;
    }
    all.push_back({d, i});
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return all;
}

TEST(TileIndexTest, NearestTilesAgreeWithABruteForceSearch) {
  const std::int64_t n = 300, dim = 24;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> rows(n * dim);
  for (auto& v : rows) v = normal(rng);
  const torch::Tensor vectors = torch::from_blob(rows.data(), {n, dim}).clone();
  for (int trial = 0; trial < 10; ++trial) {
    std::vector<float> q(dim);
    for (auto& v : q) v = normal(rng);
    const auto expected = brute_force(rows, n, dim, q);
    const auto found = nearest_tiles(vectors, torch::from_blob(q.data(), {dim}).clone(), 12);
    ASSERT_EQ(found.size(), 12u);
    for (std::size_t i = 0; i < found.size(); ++i) {
      EXPECT_EQ(found[i].index, expected[i].second) << "trial " << trial << " rank " << i;
      EXPECT_NEAR(found[i].squared_distance, expected[i].first, 1e-9 * (1 + expected[i].first));
    }
  }
}

TEST(TileIndexTest, AskingForMoreThanTheSetGivesEveryRowInOrder) {
  const torch::Tensor vectors = torch::tensor({3.0f, 1.0f, 2.0f, 0.0f}).reshape({4, 1});
  const auto found = nearest_tiles(vectors, torch::tensor({0.0f}), 10);
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(found[0].index, 3);
  EXPECT_EQ(found[1].index, 1);
  EXPECT_EQ(found[2].index, 2);
  EXPECT_EQ(found[3].index, 0);
  EXPECT_DOUBLE_EQ(found[3].squared_distance, 9.0);
}

// Tiles of one loop repeated give equal distances; the lower row (the
// earlier tile) comes first, so the listing does not depend on the sort.
TEST(TileIndexTest, TiesKeepTheEarlierRowFirst) {
  const torch::Tensor vectors = torch::tensor({1.0f, 5.0f, 1.0f, 1.0f}).reshape({4, 1});
  const auto found = nearest_tiles(vectors, torch::tensor({1.0f}), 3);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].index, 0);
  EXPECT_EQ(found[1].index, 2);
  EXPECT_EQ(found[2].index, 3);
}

TEST(TileIndexTest, ReadsWhatEmbedWrites) {
  const std::string dir = fresh_dir();
  const std::vector<float> e = {1, 2, 3, 4, 5, 6};
  common::write_npy(dir + "/E.npy", {3, 2}, e.data());
  write_text(dir + "/E.tsv", "file\ttile_start_s\na.wav\t0\na.wav\t2\nb\tc.wav\t0\n");
  EXPECT_EQ(index_names_path(dir + "/E.npy"), dir + "/E.tsv");
  EXPECT_EQ(index_names_path(dir + "/E"), dir + "/E.tsv");
  const TileIndex index = read_tile_index(dir + "/E.npy", 2);
  ASSERT_EQ(index.files.size(), 3u);
  EXPECT_EQ(index.files[1], "a.wav");
  EXPECT_EQ(index.starts[1], "2");
  EXPECT_EQ(index.files[2], "b\tc.wav");  // the start is the last field
  EXPECT_FLOAT_EQ(index.vectors[2][1].item<float>(), 6.0f);
}

TEST(TileIndexTest, ABrokenIndexNamesTheFileAndTheProblem) {
  const std::string dir = fresh_dir();
  const std::vector<float> e = {1, 2, 3, 4, 5, 6};
  common::write_npy(dir + "/E.npy", {3, 2}, e.data());
  auto fails_with = [&](const std::string& tsv, std::int64_t dim, const std::string& words) {
    write_text(dir + "/E.tsv", tsv);
    try {
      read_tile_index(dir + "/E.npy", dim);
      ADD_FAILURE() << "accepted: " << tsv;
    } catch (const std::invalid_argument& err) {
      EXPECT_NE(std::string(err.what()).find(words), std::string::npos) << err.what();
    }
  };
  const std::string good = "file\ttile_start_s\na\t0\na\t2\nb\t0\n";
  fails_with("file\na\nb\nc\n", 2, "does not list tiles");
  fails_with("file\ttile_start_s\na\t0\nb\t0\n", 2, "names 2 tiles");
  fails_with("file\ttile_start_s\na\t0\nb\nc\t0\n", 2, "line 3");
  fails_with(good, 3, "[tiles, 3]");
}

}  // namespace
}  // namespace tessera::eval
