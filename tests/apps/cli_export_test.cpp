// End-to-end tests of `tessera export` on runs trained here (the demo
// config, on synthetic data): ONNX Runtime (tests/export/onnx_check.py, in
// the test peers' environment) runs the exported file on tiles of a WAV and
// must give what `tessera embed --tiles` gives for that WAV.
//
// Tolerances:
// - logmel: 1e-4, fp32 on both sides; for pooled features, 1e-4 of their
//   largest magnitude (tests/export/onnx_export_test.cpp).
// - waveform: 1e-3. The exported front end agrees with Tessera's features
//   as both agree with the numpy TF reference: per log-mel value within
//   (1e-4 mel + 1e-6 max mel) / (mel + 1e-6) + 1e-6 |log| (reference_
//   features_test.cpp), i.e. about 1e-4 where the signal is, more in
//   near-silent bins, so the two front ends may differ by twice that. The
//   tolerance allows the network to amplify that tenfold, an allowance this
//   test does not measure; the differences seen are far below it (the
//   test prints them), since both front ends compute the same float32 steps.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "test_util.h"

namespace tessera {
namespace {

using namespace tessera::testing;

const std::string kCheck = std::string(TESSERA_SOURCE_DIR) + "/tests/export/onnx_check.py";
const std::string kDemo = std::string(TESSERA_SOURCE_DIR) + "/configs/demo.json";

class CliExportTest : public ::testing::Test {
 protected:
  // Two tiny trained runs, fp32 and bf16, shared by the tests of this
  // binary and reused while their key holds (as CliClassifyTest's).
  static void SetUpTestSuite() {
    data_ = shared_synth_dataset(4);
    dir_ = std::string(TESSERA_TEST_TMP) + "/CliExportTest";
    fp32_ = train("fp32", "--precision fp32");
    if (setup_error_.empty()) bf16_ = train("bf16", "--precision bf16");
    // A depth and width other than the demo's.
    if (setup_error_.empty())
      resnet34_ =
          train("resnet34", "--set model=ResNet34 --set model_width=4 --set embedding_size=24");
    // A mono 16 kHz 16-bit WAV of 10 s, the demo's clip length: tones and noise.
    wav_ = dir_ + "/clip.wav";
    std::vector<float> x = sine(440, 0.2, 16000, 160000);
    const auto low = sine(97, 0.3, 16000, 160000);
    std::mt19937 rng(5);
    std::normal_distribution<float> noise(0.0f, 0.02f);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += low[i] * (i > 80000) + noise(rng);
    write_mono_wav(wav_, std::move(x));
  }
  static std::string train(const std::string& name, const std::string& flags) {
    const std::string run = dir_ + "/" + name;
    setup_error_ = train_shared_run(run,
                                    "train -c " + kDemo + " --set dcase_dataset_path=" + data_ +
                                        " --set epochs=2 --set batch_size=16 --set "
                                        "log_level=warning --threads 2 " +
                                        flags + " --run-dir " + run,
                                    kDemo, "epoch_0002.pt");
    return run;
  }
  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << setup_error_;
  }

  // Exports, embeds the WAV's tiles, and has ONNX Runtime compare.
  static void expect_export_matches(const std::string& run, const std::string& flags,
                                    const std::string& layer, double tol) {
    const std::string dir = fresh_dir();
    const std::string model = dir + "/model.onnx";
    auto r =
        run_tessera("export --run-dir " + run + " -o " + model + " --layer " + layer + " " + flags);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = run_tessera("embed --run-dir " + run + " -i " + wav_ + " --tiles --layer " + layer +
                    " --threads 2 -o " + dir + "/E.npy");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::string input = wav_;
    if (flags.find("waveform") == std::string::npos) {
      input = dir + "/f.npy";
      r = run_tessera("features -c " + run + "/config.json -i " + wav_ + " -o " + input);
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    char tol_text[32];
    // Pooled features are not unit length: their bound scales with them.
    std::snprintf(tol_text, sizeof tol_text, layer == "pooled" ? "%gr" : "%g", tol);
    r = run_command(std::string("'") + TESSERA_TORCH_PYTHON + "' '" + kCheck + "' embed '" + model +
                    "' '" + dir + "/E.npy' " + tol_text + " 3 '" + input + "'");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::printf("%s %s %s: %s", run.substr(run.rfind('/') + 1).c_str(), flags.c_str(),
                layer.c_str(), r.output.c_str());
  }
  static std::string data_, dir_, fp32_, bf16_, resnet34_, wav_, setup_error_;
};
std::string CliExportTest::data_, CliExportTest::dir_, CliExportTest::fp32_, CliExportTest::bf16_,
    CliExportTest::resnet34_, CliExportTest::wav_, CliExportTest::setup_error_;

TEST_F(CliExportTest, LogMelExportMatchesEmbedTiles) {
  expect_export_matches(fp32_, "", "embedding", 1e-4);
  expect_export_matches(fp32_, "--input logmel", "pooled", 1e-4);
}

TEST_F(CliExportTest, ResNet34AtAnotherWidthMatchesEmbedTiles) {
  expect_export_matches(resnet34_, "", "embedding", 1e-4);
  expect_export_matches(resnet34_, "", "pooled", 1e-4);
}

TEST_F(CliExportTest, WaveformExportMatchesEmbedTiles) {
  expect_export_matches(fp32_, "--input waveform", "embedding", 1e-3);
}

TEST_F(CliExportTest, Bf16TrainedRunExportsFp32WeightsThatMatch) {
  expect_export_matches(bf16_, "", "embedding", 1e-4);
}

TEST_F(CliExportTest, ChosenCheckpointIsExportedAndNamedInTheMetadata) {
  const std::string dir = fresh_dir();
  const auto r = run_tessera("export --run-dir " + fp32_ + " --checkpoint 1 -o " + dir + "/m.onnx");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("epoch 1"), std::string::npos) << r.output;
}

TEST_F(CliExportTest, BadInputsFailClearlyAndLeaveNoFile) {
  const std::string dir = fresh_dir();
  const std::string out = dir + "/m.onnx";
  auto r = run_tessera("export --run-dir " + dir + "/no_run -o " + out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("not a run directory"), std::string::npos) << r.output;
  r = run_tessera("export --run-dir " + fp32_ + " --checkpoint 9 -o " + out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("no checkpoint of epoch 9"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1, 2"), std::string::npos) << r.output;
  r = run_tessera("export --run-dir " + fp32_ + " -o " + dir + "/missing/m.onnx");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("cannot write"), std::string::npos) << r.output;
  write_text(dir + "/a_file", "x");
  r = run_tessera("export --run-dir " + fp32_ + " -o " + dir + "/a_file/m.onnx");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1)
      << "export left a file behind";
}

}  // namespace
}  // namespace tessera
