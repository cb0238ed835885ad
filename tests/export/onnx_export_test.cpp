// export_onnx against ONNX Runtime (from PyPI, in the test peers'
// environment): the exported graph, run by an engine that shares no code
// with LibTorch, must give what Tessera's own forward pass gives on the same
// tiles (eval::Embedder, as `tessera embed` runs it), for several
// architectures and both layers; and the exported front end alone must
// match the numpy TF reference fixtures (tests/data/reference/) under the
// bound tests/features/reference_features_test.cpp derives. The networks
// here are untrained, with batch-norm statistics moved off their initial
// values so that an exported norm that ignored them would show.
//
// Tolerance: 1e-4 on unit embeddings, and on pooled features (not unit
// length) 1e-4 of their largest magnitude; fp32 both sides. LibTorch's and
// ONNX Runtime's convolutions sum in different orders, which moves each
// value by a few float32 ulp per layer.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tessera/common/npy.h"
#include "tessera/export/onnx_export.h"
#include "tessera/onnx/onnx_model.h"
#include "tessera/sampling/tile_store.h"
#include "tessera/study/config_options.h"
#include "test_util.h"

namespace tessera::exporting {
namespace {

using namespace tessera::testing;

const std::string kCheck = std::string(TESSERA_SOURCE_DIR) + "/tests/export/onnx_check.py";

std::string python_check(const std::string& args) {
  return std::string("'") + TESSERA_TORCH_PYTHON + "' '" + kCheck + "' " + args;
}

// A model as load_trained_model would give it, untrained, with batch-norm
// running statistics moved by a few training-mode passes.
eval::TrainedModel make_model(const study::Config& c) {
  c.validate();
  eval::TrainedModel m;
  m.data = study::run_data_options(c, "");
  m.record = c.to_json();
  torch::manual_seed(3);
  m.net = model::ResNet(study::model_options(c));
  if (c.input_normalisation == "dataset") m.net->set_input_statistics(-4.0, 2.5);
  const auto g = m.data.geometry;
  m.net->train();
  {
    torch::NoGradGuard no_grad;
    for (int i = 0; i < 3; ++i)
      m.net->forward(torch::randn({4, g.channels, g.tile_frames, g.bins}) * 2 - 3);
  }
  m.net->eval();
  m.epoch = 7;
  return m;
}

study::Config small_config() {
  study::Config c;
  c.model_width = 8;
  c.embedding_size = 16;
  c.n_mel_bin = 64;
  return c;
}

// Features of `tiles` whole tiles [channels, frames, bins] written as npy,
// and Tessera's outputs for those tiles, cut as the sampler cuts them.
struct Case {
  std::string features, expected;
};

Case write_case(eval::TrainedModel& m, eval::Layer layer, int tiles, const std::string& dir) {
  const auto g = m.data.geometry;
  const std::int64_t frames = g.tile_frames + std::int64_t(tiles - 1) * g.step_frames;
  const torch::Tensor f = torch::randn({g.channels, frames, g.bins}) * 2 - 4;
  std::vector<torch::Tensor> cut;
  for (int t = 0; t < tiles; ++t)
    cut.push_back(f.narrow(1, std::int64_t(t) * g.step_frames, g.tile_frames));
  eval::Embedder e(m, 64, layer);
  const torch::Tensor out = e.embed_tiles(torch::stack(cut)).contiguous();
  Case c{dir + "/features.npy", dir + "/expected.npy"};
  common::write_npy(c.features, {std::size_t(g.channels), std::size_t(frames), std::size_t(g.bins)},
                    f.contiguous().data_ptr<float>());
  common::write_npy(c.expected, {std::size_t(out.size(0)), std::size_t(out.size(1))},
                    out.data_ptr<float>());
  return c;
}

void expect_runtime_matches(const study::Config& config, eval::Layer layer, int tiles = 9,
                            const std::vector<int>& batches = {7}) {
  const std::string dir = fresh_dir();
  eval::TrainedModel m = make_model(config);
  const Case c = write_case(m, layer, tiles, dir);
  OnnxExportOptions o;
  o.layer = layer;
  const std::string model = dir + "/model.onnx";
  const auto s = export_onnx(m, o, model);
  EXPECT_EQ(s.input_name, "logmel");
  for (const int batch : batches) {
    // Pooled features are not unit length: their bound scales with them.
    const std::string tol = layer == eval::Layer::kPooled ? "1e-4r" : "1e-4";
    const auto r = run_command(python_check("embed '" + model + "' '" + c.expected + "' " + tol +
                                            " " + std::to_string(batch) + " '" + c.features + "'"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("max_abs_diff"), std::string::npos) << r.output;
    std::printf("%s %s %s: %s", config.model.c_str(), config.pooling.c_str(),
                eval::layer_name(layer).c_str(), r.output.c_str());
  }
}

TEST(OnnxExportTest, ResNet18EmbeddingMatchesTesseraForBatchesOf1And7And64) {
  expect_runtime_matches(small_config(), eval::Layer::kEmbedding, 70, {1, 7, 64});
}

TEST(OnnxExportTest, PooledLayerMatchesTessera) {
  expect_runtime_matches(small_config(), eval::Layer::kPooled);
}

TEST(OnnxExportTest, ResNet34WithTimeStatisticsAndAnMlpHeadMatchesTessera) {
  study::Config c = small_config();
  c.model = "ResNet34";
  c.model_width = 4;
  c.pooling = "time_stats";
  c.projection_head = "mlp";
  c.projection_hidden = 32;
  expect_runtime_matches(c, eval::Layer::kEmbedding);
  expect_runtime_matches(c, eval::Layer::kPooled);
}

TEST(OnnxExportTest, ResNet50MatchesTessera) {
  study::Config c = small_config();
  c.model = "ResNet50";
  c.model_width = 4;
  expect_runtime_matches(c, eval::Layer::kEmbedding);
}

TEST(OnnxExportTest, InputNormalisationsMatchTessera) {
  study::Config c = small_config();
  c.input_normalisation = "tile_mean";
  expect_runtime_matches(c, eval::Layer::kEmbedding);
  c.input_normalisation = "dataset";
  expect_runtime_matches(c, eval::Layer::kEmbedding);
}

TEST(OnnxExportTest, MultiChannelRunsEmbedEachChannelAndMatchTessera) {
  study::Config c = small_config();
  c.to_mono = false;
  c.stereo_channels = 2;
  expect_runtime_matches(c, eval::Layer::kEmbedding);
  expect_runtime_matches(c, eval::Layer::kPooled);
}

TEST(OnnxExportTest, MetadataRecordsTheRunAndTheGraphIsNamed) {
  const std::string dir = fresh_dir();
  study::Config c = small_config();
  c.margin = 0.7;
  eval::TrainedModel m = make_model(c);
  OnnxExportOptions o;
  o.input = ExportInput::kWaveform;
  const std::string path = dir + "/model.onnx";
  export_onnx(m, o, path);
  const auto s = onnx::read_onnx_summary(path);
  EXPECT_EQ(s.metadata.at("checkpoint_epoch"), "7");
  EXPECT_EQ(s.metadata.at("margin"), "0.7");
  EXPECT_EQ(s.metadata.at("input"), "waveform");
  EXPECT_EQ(s.metadata.at("tile_samples"), "32000");
  EXPECT_EQ(nlohmann::json::parse(s.metadata.at("config")).at("model_width").get<int>(), 8);
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.inputs[0].first, "waveform");
  EXPECT_EQ(std::get<std::string>(s.inputs[0].second[0]), "batch");
  EXPECT_EQ(std::get<std::int64_t>(s.inputs[0].second[1]), 32000);
  EXPECT_EQ(s.outputs[0].first, "embedding");
  EXPECT_EQ(std::get<std::int64_t>(s.outputs[0].second[1]), 16);
  // The front end uses ONNX's own STFT, no custom operator.
  EXPECT_NE(std::find(s.ops.begin(), s.ops.end(), "STFT"), s.ops.end());
}

TEST(OnnxExportTest, WaveformInputOfAMultiChannelRunIsRefusedWithNoFile) {
  const std::string dir = fresh_dir();
  study::Config c = small_config();
  c.to_mono = false;
  c.stereo_channels = 2;
  eval::TrainedModel m = make_model(c);
  OnnxExportOptions o;
  o.input = ExportInput::kWaveform;
  EXPECT_THROW(export_onnx(m, o, dir + "/model.onnx"), std::invalid_argument);
  EXPECT_FALSE(std::filesystem::exists(dir + "/model.onnx"));
}

// The exported front end against independent numpy float64 references.
TEST(OnnxExportTest, FrontEndMatchesTheNumpyTfReferenceFixtures) {
  const std::string dir = fresh_dir();
  features::FeatureOptions fo;  // the references' settings: 16 kHz, 480/160/1024, 128 mel bins
  fo.n_mel_bins = 128;
  const std::string model = dir + "/front_end.onnx";
  export_front_end_onnx(fo, model);
  const std::string ref = std::string(TESSERA_SOURCE_DIR) + "/tests/data/reference/";
  for (const char* name : {"tones_16k_mono", "near_silent_16k"}) {
    const auto r = run_command(python_check("frontend '" + model + "' '" + ref + name + ".wav' '" +
                                            ref + name + ".mel.npy'"));
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.output;
  }
}

TEST(OnnxExportTest, MfccFrontEndMatchesTheNumpyTfReferenceFixtures) {
  const std::string dir = fresh_dir();
  features::FeatureOptions fo;
  fo.kind = features::FeatureKind::kMfcc;  // 13 coefficients of the 128 log-mel bands
  const std::string model = dir + "/front_end.onnx";
  export_front_end_onnx(fo, model);
  const std::string ref = std::string(TESSERA_SOURCE_DIR) + "/tests/data/reference/";
  for (const char* name : {"tones_16k_mono", "near_silent_16k"}) {
    const auto r =
        run_command(python_check("frontend '" + model + "' '" + ref + name + ".wav' '" + ref +
                                 name + ".mel.npy' '" + ref + name + ".mfcc.npy'"));
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.output;
  }
}

}  // namespace
}  // namespace tessera::exporting
