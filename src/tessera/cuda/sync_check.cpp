#include "tessera/cuda/sync_check.h"

#include <c10/cuda/CUDAFunctions.h>

extern "C" void tessera_cuda_set_sync_check(int level) {
  c10::cuda::warning_state().set_sync_debug_mode(level <= 0   ? c10::cuda::SyncDebugMode::L_DISABLED
                                                 : level == 1 ? c10::cuda::SyncDebugMode::L_WARN
                                                              : c10::cuda::SyncDebugMode::L_ERROR);
}
