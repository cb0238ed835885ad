// One OpenMP runtime: the torch wheel vendors its own libgomp.so.1, and our
// files compiled with -fopenmp (ATen's parallel_for is a header template)
// must end up on that same runtime, or two thread pools share the cores and
// torch::set_num_threads no longer reaches our kernels.
// Provenance: the wheel's lib/ holds libgomp.so.1 (soname libgomp.so.1), as
// does GCC's; CMakeLists.txt links the wheel's.
#include <omp.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace {

namespace fs = std::filesystem;

std::set<std::string> mapped_libgomp() {
  std::set<std::string> out;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    if (fs::path(path).filename().string().rfind("libgomp", 0) == 0) {
      out.insert(fs::canonical(path).string());
    }
  }
  return out;
}

int threads_in_our_region() {
  int n = 0;
#pragma omp parallel
  {
#pragma omp single
    n = omp_get_num_threads();
  }
  return n;
}

TEST(OpenMpRuntimeTest, OnlyLibTorchsLibgompIsLoaded) {
  // Load it for certain: one region of ours and one of LibTorch's.
  EXPECT_GE(threads_in_our_region(), 1);
  at::parallel_for(0, 1000, 1, [](int64_t, int64_t) {});
  const auto libs = mapped_libgomp();
  ASSERT_EQ(libs.size(), 1u) << "several OpenMP runtimes are mapped";
  const std::string torch_lib = fs::canonical(TESSERA_TORCH_LIB_DIR).string();
  EXPECT_EQ(fs::path(*libs.begin()).parent_path().string(), torch_lib)
      << "the libgomp in use is not the torch wheel's";
}

TEST(OpenMpRuntimeTest, TorchsThreadSettingReachesOurParallelRegions) {
  const int before = torch::get_num_threads();
  for (int n : {1, 3, 2}) {
    torch::set_num_threads(n);
    EXPECT_EQ(omp_get_max_threads(), n);
    EXPECT_EQ(threads_in_our_region(), n);
  }
  torch::set_num_threads(before);
}

}  // namespace
