// CPU runs do not pay for CUDA: `tessera` links LibTorch's CPU libraries
// only, and loads its CUDA module (libtessera_cuda.so, with libtorch_cuda
// and NVIDIA's libraries) when a command is given --device cuda
// (device/cuda_support.h). The dynamic loader's own record (LD_DEBUG=files)
// says which libraries a run opened.
#include <gtest/gtest.h>

#include <filesystem>

#include "tessera/audio/encode.h"
#include "test_util.h"

namespace tessera {
namespace {

using namespace tessera::testing;

const char* const kCudaLibraries[] = {"libtorch_cuda.so", "libc10_cuda.so", "libcublas.so",
                                      "libcudnn.so",      "libnccl.so",     "libtessera_cuda.so"};

std::string clip(const std::string& dir) {
  audio::AudioBuffer a;
  a.sample_rate_hz = 16000;
  a.channels = 1;
  a.samples = sine(440, 0.3, 16000, 16000 * 3);
  const std::string path = dir + "/clip.wav";
  audio::write_wav(path, a);
  return path;
}

// `tessera <args>` with the dynamic loader reporting every library it opens.
CommandResult run_recorded(const std::string& args) {
  return run_command("LD_DEBUG=files '" + std::string(TESSERA_BINARY) + "' " + args);
}

TEST(CliCudaLoadingTest, CpuRunOpensNoCudaLibrary) {
  const std::string dir = fresh_dir();
  const auto r = run_recorded("features --input " + clip(dir) + " --output " + dir + "/f.npy");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The record is there: LibTorch's CPU library was opened.
  ASSERT_NE(r.output.find("file=libtorch_cpu.so"), std::string::npos) << r.output;
  for (const char* lib : kCudaLibraries) {
    EXPECT_EQ(r.output.find(std::string("file=") + lib), std::string::npos) << lib << " was opened";
  }
}

#if TESSERA_CUDA_BUILT
TEST(CliCudaLoadingTest, DeviceCudaLoadsTheModuleWhileParsing) {
  const std::string dir = fresh_dir();
  const auto r = run_recorded("train -c " + std::string(TESSERA_SOURCE_DIR) +
                              "/configs/demo.json --set dcase_dataset_path=" + dir +
                              "/missing --device cuda --run-dir " + dir + "/run");
  EXPECT_NE(r.output.find("libtessera_cuda.so"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("file=libtorch_cuda.so"), std::string::npos) << r.output;
  // The dataset does not exist, so the command fails, on the dataset and
  // not on loading CUDA.
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.output.find("cannot load LibTorch's CUDA support"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("missing"), std::string::npos) << r.output;
}
#else
// A CPU-only build (CMake's TESSERA_CUDA found no toolkit, or the light
// LibTorch) has no module: --device cuda says so, and names the commands
// that build one, before it touches the data.
TEST(CliCudaLoadingTest, DeviceCudaInACpuOnlyBuildNamesTheUpgrade) {
  const std::string dir = fresh_dir();
  const auto r = run_recorded("train -c " + std::string(TESSERA_SOURCE_DIR) +
                              "/configs/demo.json --set dcase_dataset_path=" + dir +
                              "/missing --device cuda --run-dir " + dir + "/run");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("built for the CPU only"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("make setup TESSERA_CUDA=ON"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("file=libtorch_cuda.so"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/run")) << "a run directory was left behind";
}
#endif

TEST(CliCudaLoadingTest, BadDeviceIsAParseError) {
  const auto r = run_tessera("train -c " + std::string(TESSERA_SOURCE_DIR) +
                             "/configs/demo.json --device gpu");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("'gpu' is not cpu, cuda or cuda:N"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tessera
