// A CUDA graph: the work a function queues on the GPU, captured once and
// replayed later with one launch. The capture records kernels and the
// addresses they touch, so a replay reads and writes the same tensors; see
// StepRunner (train_step.h) for what that asks of a training step.
//
// It goes through the CUDA module (cuda/cuda_graph.h), loaded by
// common::load_cuda_support(), which a CUDA device's first use has done.
#pragma once

#include <functional>

extern "C" struct TesseraCudaGraph;

namespace tessera::device {

class CudaGraph {
 public:
  // Captures what `body` queues on the current stream, which must be one
  // taken from the stream pool (the default stream cannot be captured).
  // `body` runs once, and its kernels do not: replay() runs them. Rethrows
  // what `body` threw, or throws std::runtime_error with the capture's
  // error; the stream has left capture mode either way.
  explicit CudaGraph(const std::function<void()>& body);
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  // Queues the captured work on the current stream.
  void replay();

 private:
  TesseraCudaGraph* graph_ = nullptr;
};

}  // namespace tessera::device
