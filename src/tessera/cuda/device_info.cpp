#include "tessera/cuda/device_info.h"

#include <cstdio>
#include <exception>
#include <string>

#include <ATen/cuda/CUDAContext.h>
#include <torch/cuda.h>

extern "C" int tessera_cuda_describe(char* out, std::size_t size) {
  std::string text;
  int count = 0;
  try {
    count = int(torch::cuda::device_count());
    if (count == 0) text = "no GPU visible to the CUDA runtime";
    for (int i = 0; i < count; ++i) {
      const cudaDeviceProp* p = at::cuda::getDeviceProperties(i);
      char line[256];
      std::snprintf(line, sizeof line, "%scuda:%d %s, compute capability %d.%d, %.1f GiB",
                    i ? "\n" : "", i, p->name, p->major, p->minor,
                    double(p->totalGlobalMem) / double(1ull << 30));
      text += line;
    }
  } catch (const std::exception& e) {
    text = e.what();
    count = 0;
  }
  if (out && size) std::snprintf(out, size, "%s", text.c_str());
  return count;
}
