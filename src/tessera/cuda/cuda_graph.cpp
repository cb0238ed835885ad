#include "tessera/cuda/cuda_graph.h"

#include <cstdio>
#include <exception>
#include <memory>

#include <ATen/cuda/CUDAGraph.h>

struct TesseraCudaGraph {
  at::cuda::CUDAGraph graph;
};

namespace {

void fill(char* error, std::size_t error_size, const char* what) {
  if (error && error_size) std::snprintf(error, error_size, "%s", what);
}

}  // namespace

extern "C" TesseraCudaGraph* tessera_cuda_graph_capture(int (*body)(void*), void* context,
                                                        char* error, std::size_t error_size) {
  auto g = std::make_unique<TesseraCudaGraph>();
  try {
    g->graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
  } catch (const std::exception& e) {
    fill(error, error_size, e.what());
    return nullptr;
  }
  const int failed = body(context);
  try {
    g->graph.capture_end();
  } catch (const std::exception& e) {
    fill(error, error_size, failed ? "body failed" : e.what());
    return nullptr;
  }
  if (failed) {
    fill(error, error_size, "body failed");
    return nullptr;
  }
  return g.release();
}

extern "C" int tessera_cuda_graph_replay(TesseraCudaGraph* graph, char* error,
                                         std::size_t error_size) {
  try {
    graph->graph.replay();
    return 0;
  } catch (const std::exception& e) {
    fill(error, error_size, e.what());
    return 1;
  }
}

extern "C" void tessera_cuda_graph_free(TesseraCudaGraph* graph) {
  delete graph;
}
