// What the CUDA module (libtessera_cuda.so) exports for CUDA graphs, as C
// symbols that common::cuda_support_symbol() finds: at::cuda::CUDAGraph
// lives in libtorch_cuda, which the CPU-only binary does not link.
// device/cuda_graph.h wraps them.
#pragma once

#include <cstddef>

extern "C" {

struct TesseraCudaGraph;

// Captures what `body(context)` queues on the current stream of the current
// CUDA device (which must not be the legacy default stream) into a graph.
// The capture is thread-local: other threads may allocate pinned memory
// meanwhile. `body` returns 0 when it succeeded. Returns the graph, or null
// with `error` filled (up to error_size bytes, NUL-terminated): the
// capture's own error, or "body failed" when `body` returned non-zero (its
// error is the caller's to report). The stream is out of capture mode
// either way.
using TesseraCudaGraphCapture = TesseraCudaGraph* (*)(int (*body)(void*), void* context,
                                                      char* error, std::size_t error_size);
TesseraCudaGraph* tessera_cuda_graph_capture(int (*body)(void*), void* context, char* error,
                                             std::size_t error_size);

// Queues the graph on the current stream. Returns 0, or non-zero with
// `error` filled.
using TesseraCudaGraphReplay = int (*)(TesseraCudaGraph* graph, char* error,
                                       std::size_t error_size);
int tessera_cuda_graph_replay(TesseraCudaGraph* graph, char* error, std::size_t error_size);

// Frees the graph and its memory pool.
using TesseraCudaGraphFree = void (*)(TesseraCudaGraph* graph);
void tessera_cuda_graph_free(TesseraCudaGraph* graph);
}
