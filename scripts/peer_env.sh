#!/usr/bin/env bash
# Prints the Python environment whose torch, torchrun and TensorBoard the
# tests and benchmarks use beside LibTorch's environment DIR: DIR itself
# when it holds the full CUDA wheel set (an importable torch; cuBLAS came
# with it), else DIR-peers, which `scripts/setup.sh test` fills. The one
# test of full against light: scripts/setup.sh and CMakeLists.txt ask it.
# Usage: scripts/peer_env.sh DIR
set -euo pipefail
env=${1:?usage: peer_env.sh TORCH_ENV}
if [[ -x $env/bin/python ]] &&
  "$env/bin/python" -c 'import importlib.metadata as m; m.version("nvidia-cublas")' 2>/dev/null; then
  echo "$env"
else
  echo "$env-peers"
fi
