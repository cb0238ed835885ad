#include "version_report.h"

#include <ATen/Version.h>
#include <torch/torch.h>

#include "tessera/cuda/device_info.h"
#include "tessera/device/cuda_support.h"
#include "tessera/version.h"

namespace tessera::app {
namespace {

std::string cuda_line() {
  try {
    device::load_cuda_support();
  } catch (const std::exception& e) {
    return "CUDA: not available (" + std::string(e.what()) + ")";
  }
  const auto describe =
      reinterpret_cast<TesseraCudaDescribe>(device::cuda_support_symbol("tessera_cuda_describe"));
  char devices[2048] = "";
  const int n = describe(devices, sizeof devices);
  if (n == 0 || !torch::cuda::is_available())
    return std::string("CUDA: not available (") + devices + ")";
  std::string list = "  ";
  for (const char* c = devices; *c; ++c)
    list += *c == '\n' ? std::string("\n  ") : std::string(1, *c);
  return "CUDA: available, " + std::to_string(n) + (n == 1 ? " GPU\n" : " GPUs\n") + list;
}

}  // namespace

std::string version_report() {
  std::string r = std::string("tessera ") + kVersion + "\n";
  r += "LibTorch " + std::string(TORCH_VERSION) + "\n";
  const std::string blas = at::hasMKL() ? at::get_mkl_version() : "not MKL";
  r += "  BLAS: " + blas + "\n";
  r += "  oneDNN: " + (at::hasMKLDNN() ? at::get_mkldnn_version() : std::string("none")) + "\n";
  r += "  CPU kernels: " + at::get_cpu_capability() + ", " +
       std::to_string(torch::get_num_threads()) + " threads\n";
  return r + cuda_line();
}

}  // namespace tessera::app
