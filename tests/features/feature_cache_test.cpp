#include "tessera/features/feature_cache.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "tessera/sampling/tile_store.h"
#include "test_util.h"

namespace tessera::features {
namespace {

using tessera::testing::fresh_dir;

std::string write_noise(const std::string& path, double seconds, unsigned seed) {
  std::vector<float> x =
      tessera::testing::sine(300 + seed, 0.3, 16000, std::size_t(16000 * seconds));
  for (std::size_t i = 0; i < x.size(); i += 7) x[i] += 0.01f * float(seed % 5);
  tessera::testing::write_mono_wav(path, std::move(x));
  return path;
}

audio::AudioOptions dcase_audio() {
  return audio::AudioOptions{};
}

TEST(FeatureCacheTest, MissThenHitAcrossInstances) {
  const std::string dir = fresh_dir();
  const std::string wav = write_noise(dir + "/a.wav", 10, 1);
  {
    FeatureCache cache(dir + "/cache", dcase_audio(), FeatureOptions{});
    const auto f = cache.get(wav);
    EXPECT_EQ(f->frames(), 998);
    EXPECT_EQ(cache.stats().misses, 1u);
  }
  FeatureCache cache(dir + "/cache", dcase_audio(), FeatureOptions{});
  ASSERT_NE(cache.lookup(wav), nullptr);
  cache.get(wav);
  EXPECT_EQ(cache.stats().misses, 0u);
  EXPECT_EQ(cache.stats().hits, 1u);
}

// A cached tile is bit-identical to the features computed from the tile.
TEST(FeatureCacheTest, CachedTileEqualsDirectTile) {
  const std::string dir = fresh_dir();
  const std::string wav = write_noise(dir + "/a.wav", 10, 2);
  FeatureCache cache(dir + "/cache", dcase_audio(), FeatureOptions{});
  const auto f = cache.get(wav);
  const auto audio = audio::load_audio(wav, dcase_audio());
  FeatureExtractor fx{FeatureOptions{}};
  for (int tile = 0; tile < 5; ++tile) {
    const auto direct = fx.compute(audio.samples.data() + tile * 32000, 32000);
    EXPECT_EQ(std::memcmp(direct.data.data(), f->frame(0, tile * 200), direct.data.size() * 4), 0)
        << tile;
  }
}

TEST(FeatureCacheTest, ChangedFileOrOptionsIsAMiss) {
  const std::string dir = fresh_dir();
  const std::string wav = write_noise(dir + "/a.wav", 10, 3);
  FeatureCache cache(dir + "/cache", dcase_audio(), FeatureOptions{});
  const std::string before = cache.entry_path(wav);
  cache.get(wav);
  FeatureOptions mfcc;
  mfcc.kind = FeatureKind::kMfcc;
  FeatureCache other(dir + "/cache", dcase_audio(), mfcc);
  EXPECT_EQ(other.lookup(wav), nullptr);
  EXPECT_EQ(other.get(wav)->bins(), 13);
  // Rewrite the file (new size and mtime): the old entry no longer applies.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  write_noise(wav, 9, 4);
  EXPECT_NE(cache.entry_path(wav), before);
  EXPECT_EQ(cache.lookup(wav), nullptr);
}

TEST(FeatureCacheTest, PartialEntryIsNeverValid) {
  const std::string dir = fresh_dir();
  const std::string wav = write_noise(dir + "/a.wav", 10, 5);
  FeatureCache cache(dir + "/cache", dcase_audio(), FeatureOptions{});
  const std::string entry = cache.entry_path(wav);
  cache.get(wav);
  std::filesystem::resize_file(entry, std::filesystem::file_size(entry) / 2);
  FeatureCache again(dir + "/cache", dcase_audio(), FeatureOptions{});
  EXPECT_EQ(again.lookup(wav), nullptr);
  EXPECT_EQ(again.stats().invalid, 1u);
  EXPECT_EQ(again.get(wav)->frames(), 998);  // recomputed
  EXPECT_EQ(again.stats().misses, 1u);
}

// Found by fuzz_cache_entry: frames = 2^62 + 4 makes frames * 4 bytes wrap
// to 16, which matched a 16-byte payload; such a header must be refused.
TEST(FeatureCacheTest, HeaderWhoseSizeOverflowsIsRefused) {
  const std::string dir = fresh_dir();
  const std::string wav = write_noise(dir + "/a.wav", 1, 9);
  FeatureCache cache(dir + "/cache", dcase_audio(), FeatureOptions{});
  const std::string entry = cache.entry_path(wav);
  const std::string name = std::filesystem::path(entry).stem().string();
  const std::uint64_t key = std::stoull(name, nullptr, 16);
  std::string bytes(64 + 16, '\0');
  const std::uint32_t one = 1;
  const std::uint64_t frames = (std::uint64_t(1) << 62) + 4, payload = 16;
  std::memcpy(&bytes[0], "TSRFEAT1", 8);
  std::memcpy(&bytes[8], &key, 8);
  std::memcpy(&bytes[16], &one, 4);  // channels
  std::memcpy(&bytes[20], &one, 4);  // bins
  std::memcpy(&bytes[24], &frames, 8);
  std::memcpy(&bytes[32], &payload, 8);
  tessera::testing::write_text(entry, bytes);
  EXPECT_EQ(cache.lookup(wav), nullptr);
  EXPECT_EQ(cache.stats().invalid, 1u);
}

TEST(FeatureCacheTest, ConcurrentRequestsComputeOnce) {
  const std::string dir = fresh_dir();
  const std::string wav = write_noise(dir + "/a.wav", 10, 6);
  FeatureCache cache(dir + "/cache", dcase_audio(), FeatureOptions{});
  std::vector<std::thread> ts;
  std::vector<std::shared_ptr<const CachedFeatures>> got(4);
  for (int t = 0; t < 4; ++t) ts.emplace_back([&, t] { got[t] = cache.get(wav); });
  for (auto& t : ts) t.join();
  EXPECT_EQ(cache.stats().misses, 1u);
  for (const auto& g : got) EXPECT_EQ(g->data()[100], got[0]->data()[100]);
}

TEST(TileStoreTest, UnusableRecordingsAreSkippedAndCounted) {
  const std::string dir = fresh_dir();
  std::vector<data::Recording> recs = {
      {write_noise(dir + "/ok.wav", 10, 7), "ok.wav", 0, ""},
      {write_noise(dir + "/short.wav", 3, 8), "short.wav", 0, ""},
      {dir + "/missing.wav", "missing.wav", 0, ""},
  };
  tessera::testing::write_text(dir + "/bad.wav", "garbage");
  recs.push_back({dir + "/bad.wav", "bad.wav", 0, ""});
  audio::AudioOptions own_length;
  own_length.fixed_length_s = 0;
  FeatureCache cache(dir + "/cache", own_length, FeatureOptions{});
  data::SkipReport skipped;
  const auto store =
      sampling::TileStore::build(recs, cache, sampling::TileGeometry{}, 2, 2, skipped);
  ASSERT_EQ(store.size(), 1u);
  EXPECT_EQ(store.tiles(0), 5);
  EXPECT_EQ(skipped.count(), 3u);
  const std::string s = skipped.summary();
  EXPECT_NE(s.find("short.wav: too short: 1 tile(s)"), std::string::npos) << s;
  EXPECT_NE(s.find("missing.wav"), std::string::npos) << s;
  EXPECT_NE(s.find("bad.wav"), std::string::npos) << s;
}

}  // namespace
}  // namespace tessera::features
