# Sources of LibTorch-using targets that include no LibTorch header, directly
# or through ours (`g++ -M` of the file lists nothing under torch/include).
# They skip the precompiled <torch/torch.h> (tessera_use_torch): loading it
# costs seconds per file, and the thousands of operator overloads it brings
# into scope slow down the parsing of everything else, CLI11 most of all.
# A file listed here that later includes torch still builds, only slower; a
# file missing from it pays for the precompiled header it does not use.
set(TESSERA_SOURCES_WITHOUT_TORCH
  apps/tessera/bench_features.cpp
  apps/tessera/cmd_bench.cpp
  apps/tessera/cmd_cache.cpp
  apps/tessera/cmd_dataset_info.cpp
  apps/tessera/cmd_features.cpp
  apps/tessera/cmd_synth.cpp
  apps/tessera/command_overview.cpp
  apps/tessera/config_args.cpp
  apps/tessera/device_option.cpp
  apps/tessera/main.cpp
  apps/tessera/option_suggestions.cpp
  bench/retained_memory_main.cpp
  src/tessera/experiment/interval.cpp
  src/tessera/experiment/report_document.cpp
  src/tessera/experiment/sweep_results.cpp
  src/tessera/ops/kernel_options.cpp
  src/tessera/device/cuda_graph.cpp
  tests/apps/cli_classify_test.cpp
  tests/apps/cli_reliability_test.cpp
  tests/apps/cli_sweep_test.cpp
  tests/apps/cli_torchrun_test.cpp
  tests/apps/cli_train_test.cpp
  tests/experiment/interval_test.cpp
  tests/experiment/report_test.cpp
  tests/experiment/sweep_results_test.cpp
  tests/experiment/sweep_test.cpp
  tests/ops/kernel_options_test.cpp)

