// Lets a test ask CUDA to fail every call that makes the host wait for the
// device (LibTorch's sync debug mode), as a C symbol that
// common::cuda_support_symbol() finds.
#pragma once

extern "C" {

// 0: allow such calls; 1: warn; 2: throw at them.
using TesseraCudaSetSyncCheck = void (*)(int level);
void tessera_cuda_set_sync_check(int level);
}
