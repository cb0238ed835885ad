#include "tessera/device/cuda_graph.h"

#include <exception>
#include <stdexcept>
#include <string>

#include "tessera/cuda/cuda_graph.h"
#include "tessera/device/cuda_support.h"

namespace tessera::device {
namespace {

template <typename Fn>
Fn symbol(const char* name) {
  return reinterpret_cast<Fn>(cuda_support_symbol(name));
}

struct Body {
  const std::function<void()>& fn;
  std::exception_ptr thrown;
};

// The C trampoline: an exception must not unwind through the capture.
int run_body(void* context) {
  auto* b = static_cast<Body*>(context);
  try {
    b->fn();
    return 0;
  } catch (...) {
    b->thrown = std::current_exception();
    return 1;
  }
}

}  // namespace

CudaGraph::CudaGraph(const std::function<void()>& body) {
  Body b{body, nullptr};
  char error[512] = {0};
  graph_ = symbol<TesseraCudaGraphCapture>("tessera_cuda_graph_capture")(run_body, &b, error,
                                                                         sizeof(error));
  if (b.thrown) std::rethrow_exception(b.thrown);
  if (!graph_) throw std::runtime_error(std::string("cuda graph: the capture failed: ") + error);
}

CudaGraph::~CudaGraph() {
  if (graph_) symbol<TesseraCudaGraphFree>("tessera_cuda_graph_free")(graph_);
}

void CudaGraph::replay() {
  char error[512] = {0};
  if (symbol<TesseraCudaGraphReplay>("tessera_cuda_graph_replay")(graph_, error, sizeof(error))) {
    throw std::runtime_error(std::string("cuda graph: the replay failed: ") + error);
  }
}

}  // namespace tessera::device
