#include "tessera/device/cuda_support.h"

#include <dlfcn.h>

#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <system_error>

namespace tessera::device {
namespace fs = std::filesystem;
namespace {

constexpr const char* kModuleName = "libtessera_cuda.so";

std::mutex& module_mutex() {
  static std::mutex m;
  return m;
}

void*& module_handle() {
  static void* handle = nullptr;
  return handle;
}

std::string cuda_support_path() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path beside = exe.parent_path() / kModuleName;
    if (fs::exists(beside, ec)) return beside.string();
  }
#ifdef TESSERA_CUDA_MODULE_DIR
  const fs::path built = fs::path(TESSERA_CUDA_MODULE_DIR) / kModuleName;
  if (fs::exists(built, ec)) return built.string();
#endif
  return kModuleName;
}

}  // namespace

void load_cuda_support() {
  std::lock_guard<std::mutex> lock(module_mutex());
  if (module_handle()) return;
#if defined(TESSERA_CUDA_BUILT) && !TESSERA_CUDA_BUILT
  // Configured without a CUDA 13 toolkit, or against the light LibTorch:
  // there is no module to look for.
  throw std::runtime_error(
      "cuda: this tessera was built for the CPU only, without its CUDA module (" +
      std::string(kModuleName) +
      "): CMake found no CUDA 13 toolkit, or the light CPU-only LibTorch. On a machine with "
      "an NVIDIA GPU and the CUDA 13.0 toolkit, `make setup TESSERA_CUDA=ON` installs the "
      "full LibTorch and `make build TESSERA_CUDA=ON` builds the module");
#endif
  const std::string path = cuda_support_path();
  // RTLD_GLOBAL: LibTorch's CUDA kernels and hooks register themselves with
  // the CPU libraries already loaded.
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!h) {
    const char* why = dlerror();
    throw std::runtime_error("cuda: cannot load LibTorch's CUDA support (" + path +
                             "): " + (why ? why : "unknown reason"));
  }
  module_handle() = h;
}

void* cuda_support_symbol(const char* name) {
  load_cuda_support();
  std::lock_guard<std::mutex> lock(module_mutex());
  void* f = dlsym(module_handle(), name);
  if (!f) {
    throw std::runtime_error(std::string("cuda: ") + kModuleName + " has no symbol " + name);
  }
  return f;
}

void load_cuda_support_for(const std::string& device) {
  if (device.rfind("cuda", 0) == 0) load_cuda_support();
}

}  // namespace tessera::device
