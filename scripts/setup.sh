#!/usr/bin/env bash
# Installs what Tessera needs, and only what is missing, so a second run
# downloads nothing. Works as root on a fresh Debian 12, with or without an
# NVIDIA GPU and NVIDIA's CUDA 13.0 toolkit.
#   - Debian's packages for everything but LibTorch (`test` adds what only
#     the suite needs: clang for the fuzz targets, clang-format);
#   - LibTorch 2.11.0 from PyPI's torch==2.11.0 wheel (its CUDA 13.0 build)
#     in a Python environment of its own outside the checkout (default
#     /opt/tessera/torch-2.11.0), which every clone and build tree reuses.
#     CMake finds LibTorch's config there. One of two sets:
#       full:  torch with its NVIDIA dependencies, torchaudio and TensorBoard,
#              for a machine with a GPU or the toolkit. Its torch, torchrun
#              and TensorBoard also serve the tests and benchmarks as peers.
#       light: the torch wheel without its dependencies, plus the two NVIDIA
#              runtime libraries libtorch_cpu.so is linked against (cudart,
#              CUPTI), for a CPU-only machine. Its torch cannot be imported
#              in Python (its _C needs libtorch_cuda's libraries), so `test`
#              and `bench` put the peers in a second environment, DIR-peers
#              (scripts/peer_env.sh).
#     --cuda auto (the default) picks full where a GPU or the toolkit is
#     found, else light; on, full; off, light, unless the full set is there.
#   - test: the peers the suite needs; bench: those plus soundfile and soxr.
# Usage: scripts/setup.sh [--torch-env DIR] [--cuda auto|on|off] [test] [bench]
set -euo pipefail

torch_version=2.11.0
torch_env=/opt/tessera/torch-$torch_version
cuda=auto
peers=0
bench=0
usage="usage: setup.sh [--torch-env DIR] [--cuda auto|on|off] [test] [bench]"
while (($#)); do
  case $1 in
    --torch-env) torch_env=$2; shift 2 ;;
    --cuda)
      cuda=$(tr '[:upper:]' '[:lower:]' <<<"$2"); shift 2
      [[ $cuda == auto || $cuda == on || $cuda == off ]] ||
        { echo "setup: --cuda takes auto, on or off ($usage)" >&2; exit 2; } ;;
    test) peers=1; shift ;;
    bench) peers=1; bench=1; shift ;;
    *) echo "setup: unknown argument '$1' ($usage)" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "$0")" && pwd)

packages=(
  build-essential cmake ninja-build pkg-config
  # LibTorch's ProcessGroupGloo.hpp includes Gloo's headers, which the wheel
  # does not ship (CMakeLists.txt explains why Debian's fit).
  libgloo-dev
  libsndfile1-dev libsoxr-dev
  # TensorBoard event files: Event protobufs and PNG images.
  libprotobuf-dev protobuf-compiler zlib1g-dev
  nlohmann-json3-dev libcli11-dev
  # `tessera export`: ONNX's protobuf schema and checker.
  libonnx-dev
  # Configuring with the tests and benchmarks on (the default) finds these.
  libgtest-dev libbenchmark-dev
  libplplot-dev plplot-driver-cairo
  # The Python environment LibTorch comes in.
  python3 python3-venv
)
if ((peers)); then
  # libFuzzer targets (tests/fuzz) are built with clang; .ci/run checks the
  # formatting with clang-format.
  packages+=(clang libclang-rt-14-dev clang-format)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
# A python3 of another origin (pyenv, a container's own) serves as well as
# Debian's, when it can make a virtual environment.
if command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; then
  kept=()
  for p in "${missing[@]}"; do [[ $p == python3 || $p == python3-venv ]] || kept+=("$p"); done
  missing=("${kept[@]+"${kept[@]}"}")
fi

as_root() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: $1" >&2
    echo "setup: run as root, or do it by hand" >&2
    exit 1
  fi
}

if ((${#missing[@]} == 0)); then
  echo "setup: all Debian packages are installed"
else
  as_root "missing Debian packages: ${missing[*]}"
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# What the machine has: an NVIDIA GPU (the driver's /proc entry or device
# node) or the CUDA toolkit's compiler: an nvcc one may execute on PATH or
# in /usr/local/cuda*/bin (bash's `command -v` also names files it cannot
# execute).
has_nvidia() {
  [[ -e /proc/driver/nvidia/version || -e /dev/nvidia0 ]] && return 0
  local dirs d
  IFS=: read -ra dirs <<<"$PATH"
  for d in "${dirs[@]}" /usr/local/cuda*/bin; do
    [[ -f $d/nvcc && -x $d/nvcc ]] && return 0
  done
  return 1
}

# installed_version ENV DIST: its version in ENV, or nothing.
installed_version() {
  [[ -x $1/bin/python ]] || return 0
  "$1/bin/python" - "$2" <<'EOF' 2>/dev/null || true
import importlib.metadata as m, sys
print(m.version(sys.argv[1]))
EOF
}

# missing_of ENV SPEC...: the specs whose exact version ENV lacks.
missing_of() {
  local env=$1 spec
  shift
  for spec in "$@"; do
    [[ $(installed_version "$env" "${spec%%==*}") == "${spec##*==}" ]] || echo "$spec"
  done
}

# pip_install ENV WHAT PIP_ARGS...: into ENV (made if missing), from PyPI.
pip_install() {
  local env=$1 what=$2
  shift 2
  mkdir -p "$(dirname "$env")" 2>/dev/null || as_root "cannot create $(dirname "$env")"
  if [[ ! -x $env/bin/python ]]; then
    echo "setup: creating the Python environment $env"
    python3 -m venv "$env"
  fi
  echo "setup: installing $what into $env from PyPI: $*"
  "$env/bin/python" -m pip install --disable-pip-version-check --progress-bar on "$@"
}

# The full set: torch pulls NVIDIA's libraries (4.8 GB in the environment).
full_set=(torch=="$torch_version" torchaudio=="$torch_version" tensorboard==2.21.0)
# The light set (1.3 GB, 545 MB to download): the versions torch 2.11.0's
# own requirements pin (cuda-toolkit[cudart,cupti]==13.0.2).
light_set=(torch=="$torch_version" nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85)

# The set already there: full, light, or none. A full set is its own peer
# environment (scripts/peer_env.sh holds that test).
installed_set() {
  if [[ $(installed_version "$1" torch) != "$torch_version" ]]; then
    echo none
  elif [[ $(bash "$here/peer_env.sh" "$1") == "$1" ]]; then
    echo full
  else
    echo light
  fi
}

have=$(installed_set "$torch_env")
want=light
if [[ $cuda == on ]] || { [[ $cuda == auto ]] && has_nvidia; }; then want=full; fi

if [[ $have == full || ($have == light && $want == light) ]]; then
  # The full set serves a CPU build as well: never downgraded.
  missing=()
  if [[ $have == full ]]; then
    mapfile -t missing < <(missing_of "$torch_env" "${full_set[@]}")
  else
    mapfile -t missing < <(missing_of "$torch_env" "${light_set[@]}")
  fi
  if ((${#missing[@]})); then
    extra=()
    [[ $have == light ]] && extra=(--no-deps)
    pip_install "$torch_env" "LibTorch $torch_version's $have set" "${extra[@]}" "${missing[@]}"
  else
    echo "setup: LibTorch $torch_version ($have set) is installed in $torch_env"
  fi
elif [[ $have == light && $cuda == auto ]]; then
  # A GPU or the toolkit arrived after the light set: say how to upgrade and
  # go on building for the CPU.
  echo "setup: this machine has an NVIDIA GPU or the CUDA toolkit, but $torch_env holds the" \
    "light, CPU-only LibTorch: \`make setup TESSERA_CUDA=ON\` installs the full set" \
    "(--device cuda needs it). Going on for the CPU."
elif [[ $want == full ]]; then
  # With its dependencies: NVIDIA's libraries, added to a light set.
  pip_install "$torch_env" "LibTorch $torch_version with CUDA 13.0" "${full_set[@]}"
else
  pip_install "$torch_env" "the CPU-only LibTorch $torch_version" --no-deps "${light_set[@]}"
fi

# The suite's and benchmarks' peers: PyTorch and torchrun, TensorBoard's
# reader, and for the benchmarks soundfile (the feature peer decodes with
# libsndfile, as Tessera does) and soxr (the dev-set builder resamples).
if ((peers)); then
  peer_env=$(bash "$here/peer_env.sh" "$torch_env")
  # ONNX Runtime checks `tessera export`'s files (tests/export/onnx_check.py).
  peer_set=("${full_set[@]}" onnxruntime==1.23.2)
  if ((bench)); then peer_set+=(soundfile==0.13.1 soxr==1.1.0); fi
  mapfile -t missing < <(missing_of "$peer_env" "${peer_set[@]}")
  if ((${#missing[@]})); then
    pip_install "$peer_env" "the tests' peers" "${missing[@]}"
  else
    echo "setup: the peers (${peer_set[*]}) are installed in $peer_env"
  fi
fi
