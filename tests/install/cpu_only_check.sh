#!/usr/bin/env bash
# Tessera configures, builds and trains on a machine without NVIDIA's CUDA
# toolkit (issue #35). In a private mount namespace (unshare -m, as root)
# every /usr/local/cuda* and every nvcc on PATH is hidden under an empty
# bind mount; then a fresh build tree is configured against TORCH_ENV, the
# small target cpu_one_step (tests/install/cpu_one_step.cpp: one Adam step
# of ResNet18 on the triplet loss) is built and run, and the check asks:
#   - did CMake find no nvcc and say it builds for the CPU only?
#   - does the program map no NVIDIA library but the two runtime ones
#     libtorch_cpu.so is linked against (libcudart.so.13, libcupti.so.13)?
#   - did the step train (finite loss, moved weights)?
# Usage: cpu_only_check.sh TORCH_ENV BUILD_DIR
#        cpu_only_check.sh --binary CPU_ONE_STEP   (the last two questions
#        only, for an existing build: the ctest CpuOnly.OneStepMapsOnlyTheCudaRuntime)
set -euo pipefail
allowed='^(libcudart\.so\.13|libcupti\.so\.13)$'

# check_run BINARY: runs it and checks what it mapped.
check_run() {
  local out
  out=$("$1") || { echo "FAIL: $1 exited non-zero:" >&2; echo "$out" >&2; return 1; }
  echo "$out"
  local bad=0 lib
  while read -r lib; do
    [[ -n $lib ]] || continue
    if [[ ! $(basename "$lib") =~ $allowed ]]; then
      echo "FAIL: maps $lib, an NVIDIA library libtorch_cpu does not need" >&2
      bad=1
    fi
  done < <(sed -n 's/^maps //p' <<<"$out")
  grep -q '^maps .*libcudart\.so\.13$' <<<"$out" ||
    { echo "FAIL: libcudart.so.13 is not mapped: is this LibTorch's CPU library?" >&2; bad=1; }
  return $bad
}

if [[ ${1:-} == --binary ]]; then
  check_run "${2:?usage: cpu_only_check.sh --binary CPU_ONE_STEP}"
  echo "cpu_only_check: PASS (one step trained; NVIDIA libraries mapped: the CUDA runtime only)"
  exit 0
fi

torch_env=$(realpath "${1:?usage: cpu_only_check.sh TORCH_ENV BUILD_DIR}")
build=$(realpath -m "${2:?usage: cpu_only_check.sh TORCH_ENV BUILD_DIR}")
source_dir=$(cd "$(dirname "$0")/../.." && pwd)

if [[ -z ${TESSERA_TOOLKIT_HIDDEN:-} ]]; then
  [[ $(id -u) -eq 0 ]] || { echo "cpu_only_check: needs root for unshare -m" >&2; exit 1; }
  TESSERA_TOOLKIT_HIDDEN=1 exec unshare -m --propagation private bash "$0" "$@"
fi

# ---- inside the namespace: hide the toolkit ----
# Unmounted before they are removed; the namespace ends with the script.
empty_dir=$(mktemp -d)
empty_file=$(mktemp)
log=$(mktemp)
hidden=()
cleanup() {
  local p
  for p in "${hidden[@]}"; do umount -l "$p" 2>/dev/null || true; done
  rm -rf "$empty_dir" "$empty_file" "$log"
}
trap cleanup EXIT
for d in /usr/local/cuda*; do
  [[ -e $d ]] || continue
  mount --bind "$empty_dir" "$d"
  hidden+=("$d")
done
while read -r nvcc; do
  [[ -n $nvcc && -e $nvcc ]] || continue
  mount --bind "$empty_file" "$nvcc"
  hidden+=("$nvcc")
done < <(type -ap nvcc || true)
unset CUDACXX CUDA_HOME CUDA_PATH CUDAToolkit_ROOT CMAKE_CUDA_COMPILER
echo "cpu_only_check: hidden: ${hidden[*]:-(nothing to hide)}"
# An executable nvcc anywhere CMake looks (bash's `command -v` also reports
# files it cannot execute, so each place is tested).
IFS=: read -ra path_dirs <<<"$PATH"
for d in "${path_dirs[@]}" /usr/local/cuda*/bin; do
  if [[ -f $d/nvcc && -x $d/nvcc ]]; then
    echo "FAIL: $d/nvcc is still executable after hiding the toolkit" >&2
    exit 1
  fi
done

# ---- configure and build ----
rm -rf "$build"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$source_dir" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DTESSERA_TORCH_ENV="$torch_env" -DTESSERA_BUILD_BENCH=OFF 2>&1 | tee "$log"
grep -q 'No CUDA 13 toolkit (nvcc) found: building for the CPU only' "$log" ||
  { echo "FAIL: CMake did not report a CPU-only build" >&2; exit 1; }
cuda_compiler=$(sed -n 's/^CMAKE_CUDA_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
if [[ -n $cuda_compiler && $cuda_compiler != *NOTFOUND ]]; then
  echo "FAIL: CMake found a CUDA compiler: $cuda_compiler" >&2
  exit 1
fi
[[ ! -e $build/apps/tessera/libtessera_cuda.so ]] || { echo "FAIL: a CUDA module was built" >&2; exit 1; }
cmake --build "$build" --target cpu_one_step -j "$(nproc)"

# ---- run ----
check_run "$build/tests/cpu_one_step"
echo "cpu_only_check: PASS (configured and built with no nvcc, CMAKE_CUDA_COMPILER='${cuda_compiler}'; one step trained; NVIDIA libraries mapped: the CUDA runtime only)"
