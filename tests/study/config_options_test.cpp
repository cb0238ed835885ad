// The study's flat config onto the lower libraries' options
// (train/config_options.h): the expected values are the config's keys as
// the original params.json means them (DCASE clips cut to sample_size, music
// files whole and trimmed, an unlabelled folder's recordings whole and
// evaluated on its eval_dataset layout), and the derived tile sizes worked
// by hand for Table 1 (2 s tiles, frame 480, step 160: 198 frames, a new
// tile every 200).
#include "tessera/study/config_options.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace tessera::study {
namespace {

TEST(ConfigOptionsTest, CacheDirIsTheConfigsElseTheRunsOwn) {
  study::Config c;
  c.cache_dir = "";
  EXPECT_EQ(resolve_cache_dir(c, "/runs/a"), "/runs/a/cache");
  c.cache_dir = "/shared/cache";
  EXPECT_EQ(resolve_cache_dir(c, "/runs/a"), "/shared/cache");
}

TEST(ConfigOptionsTest, FeatureThreadsAreTwiceTheComputeThreadsAtMostTheParallelCalls) {
  study::Config c;
  c.num_parallel_calls = 3;
  EXPECT_EQ(feature_threads(c, 1), 2);
  EXPECT_EQ(feature_threads(c, 4), 3);
}

TEST(ConfigOptionsTest, LabelledConfigOfAFolderRunIsItsEvalDatasetAndOtherwiseTheConfig) {
  study::Config c;
  c.dataset = "FolderDataset";
  c.eval_dataset = "DCASEDataset";
  c.unlabelled_dataset_path = "/recordings";
  c.batch_size = 7;
  const study::Config l = labelled_config(c);
  EXPECT_EQ(l.dataset, "DCASEDataset");
  EXPECT_EQ(l.unlabelled_dataset_path, "/recordings");
  EXPECT_EQ(l.batch_size, 7);
  study::Config d;
  d.dataset = "DCASEDataset";
  EXPECT_EQ(labelled_config(d).dataset, "DCASEDataset");
}

TEST(ConfigOptionsTest, TableOneGivesTheStudysTilesAudioAndFeatures) {
  const study::Config c;
  const sampling::TileGeometry g = tile_geometry(c);
  EXPECT_EQ(g.tile_frames, 198);
  EXPECT_EQ(g.step_frames, 200);
  EXPECT_EQ(g.channels, 1);
  EXPECT_EQ(g.bins, 128);
  const audio::AudioOptions a = audio_options(c);
  EXPECT_EQ(a.sample_rate_hz, 16000);
  EXPECT_EQ(a.fixed_length_s, 10.0);
  EXPECT_FALSE(a.trim);
  const features::FeatureOptions f = feature_options(c);
  EXPECT_EQ(f.frame_length_samples, 480);
  EXPECT_EQ(f.frame_step_samples, 160);
  EXPECT_EQ(f.fft_size, 1024);
  EXPECT_EQ(f.kind, features::FeatureKind::kLogMel);
  study::Config mfcc = c;
  mfcc.feature_extractor = "MFCCExtractor";
  EXPECT_EQ(feature_options(mfcc).kind, features::FeatureKind::kMfcc);
  EXPECT_EQ(tile_geometry(mfcc).bins, 13);
  study::Config stereo = c;
  stereo.to_mono = false;
  EXPECT_EQ(tile_geometry(stereo).channels, 4);
  study::Config ragged = c;
  ragged.sample_tile_size = 2.005;  // 32080 samples: not a whole number of 160-sample steps
  EXPECT_THROW(tile_geometry(ragged), std::invalid_argument);
}

TEST(ConfigOptionsTest, EachLayoutLoadsItsAudioAndReadsItsOwnPaths) {
  study::Config music;
  music.dataset = "MusicDataset";
  music.music_dataset_path = "/music";
  music.train_test_split = 0.3;
  music.random_seed = 9;
  EXPECT_EQ(audio_options(music).fixed_length_s, 0.0);
  EXPECT_TRUE(audio_options(music).trim);
  const data::DatasetSource ms = dataset_source(music);
  EXPECT_EQ(ms.layout, data::Layout::kMusic);
  EXPECT_EQ(ms.music.root, "/music");
  EXPECT_EQ(ms.music.held_out, 0.3);
  EXPECT_EQ(ms.music.seed, 9);

  study::Config folder;
  folder.dataset = "FolderDataset";
  folder.eval_dataset = "DCASEDataset";
  folder.dcase_dataset_path = "/dcase";
  folder.dcase_dataset_fold = 3;
  folder.unlabelled_dataset_path = "/pool";
  const sampling::RunDataOptions o = run_data_options(folder, "/runs/a");
  EXPECT_EQ(o.labelled.layout, data::Layout::kDcase);
  EXPECT_EQ(o.labelled.dcase.root, "/dcase");
  EXPECT_EQ(o.labelled.dcase.fold, 3);
  EXPECT_EQ(o.audio.fixed_length_s, 10.0);  // the labelled clips
  EXPECT_EQ(o.unlabelled_folder, "/pool");
  EXPECT_EQ(o.unlabelled_audio.fixed_length_s, 0.0);  // the folder's, whole
  EXPECT_FALSE(o.unlabelled_audio.trim);
  EXPECT_EQ(o.cache_dir, "/runs/a/cache");
  EXPECT_EQ(o.split_path, "/runs/a/split.json");

  study::Config dcase;
  EXPECT_TRUE(run_data_options(dcase, "/runs/b").unlabelled_folder.empty());
}

TEST(ConfigOptionsTest, TheModelKeysMapAndAnUnknownModelIsRefused) {
  study::Config c;
  c.model = "ResNet34";
  c.model_width = 16;
  c.embedding_size = 64;
  c.n_mel_bin = 64;
  const model::ResNetOptions m = model_options(c);
  EXPECT_EQ(m.depth, 34);
  EXPECT_EQ(m.width, 16);
  EXPECT_EQ(m.embedding_size, 64);
  EXPECT_EQ(m.input_bins, 64);
  c.model = "ResNet19";
  EXPECT_THROW(model_options(c), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::study
