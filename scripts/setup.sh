#!/usr/bin/env bash
# Installs what Tessera needs, and only what is missing, so a second run
# touches nothing. Works as root on a fresh Debian 12 with the CUDA 13.0
# toolkit.
#   - Debian's packages for everything but LibTorch;
#   - LibTorch 2.11.0 from PyPI's torch==2.11.0 wheel (its CUDA 13.0 build),
#     with torchaudio 2.11.0 (and TensorBoard, whose reader the tests use),
#     in a Python environment of its own outside the
#     checkout (default /opt/tessera/torch-2.11.0), which every clone and
#     build tree reuses. CMake finds LibTorch there through
#     torch.utils.cmake_prefix_path; the same environment's torchrun and
#     torch are the launcher and the peer the tests and benchmarks use.
# Usage: scripts/setup.sh [--torch-env DIR] [bench]
set -euo pipefail

torch_version=2.11.0
torch_env=/opt/tessera/torch-$torch_version
bench=0
while (($#)); do
  case $1 in
    --torch-env) torch_env=$2; shift 2 ;;
    bench) bench=1; shift ;;
    *) echo "setup: unknown argument '$1' (usage: setup.sh [--torch-env DIR] [bench])" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake ninja-build pkg-config
  # LibTorch's ProcessGroupGloo.hpp includes Gloo's headers, which the wheel
  # does not ship (CMakeLists.txt explains why Debian's fit).
  libgloo-dev
  libsndfile1-dev libsoxr-dev
  # TensorBoard event files: Event protobufs and PNG images.
  libprotobuf-dev protobuf-compiler zlib1g-dev
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libbenchmark-dev
  # libFuzzer targets (tests/fuzz) are built with clang; .ci/run checks the
  # formatting with clang-format.
  clang libclang-rt-14-dev clang-format
  libplplot-dev plplot-driver-cairo
  # The Python environment LibTorch comes in.
  python3 python3-venv
)

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

# The nvcc the CUDA wheel's CMake config needs: it enables CUDA as a
# language, so configuring fails without one (CMakeLists.txt says so too).
if ! command -v nvcc >/dev/null && [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
  echo "setup: no nvcc found: LibTorch's CUDA build needs the CUDA 13.0 toolkit" \
    "(nvcc) to configure; install it (NVIDIA's cuda-toolkit-13-0) and run again" >&2
  exit 1
fi

installed_version() {
  "$torch_env/bin/python" - "$1" <<'EOF' 2>/dev/null
import importlib.metadata as m, sys
print(m.version(sys.argv[1]))
EOF
}

want=(torch=="$torch_version" torchaudio=="$torch_version"
  # TensorBoard's own reader checks Tessera's event files in the tests.
  tensorboard==2.21.0)
# torchaudio 2.11 hands file decoding to torchcodec (and FFmpeg); the feature
# benchmark's peer decodes with soundfile, libsndfile as Tessera does; the
# dev-set builder (scripts/build_devset.sh) also resamples with soxr.
if ((bench)); then want+=(soundfile==0.13.1 soxr==1.1.0); fi
need_install=0
for spec in "${want[@]}"; do
  name=${spec%%==*}
  [[ $(installed_version "$name") == "${spec##*==}" ]] || need_install=1
done
if ((need_install == 0)); then
  echo "setup: LibTorch $torch_version is installed in $torch_env"
else
  mkdir -p "$(dirname "$torch_env")" 2>/dev/null || as_root "cannot create $(dirname "$torch_env")"
  if [[ ! -x $torch_env/bin/python ]]; then
    echo "setup: creating the Python environment $torch_env"
    python3 -m venv "$torch_env"
  fi
  # About 4.5 GB unpacked (LibTorch with CUDA 13.0 and NVIDIA's libraries);
  # pip prints a progress bar per file.
  echo "setup: installing ${want[*]} into $torch_env from PyPI"
  "$torch_env/bin/python" -m pip install --disable-pip-version-check --progress-bar on "${want[@]}"
fi
if ((bench)); then
  echo "setup: the benchmark peers are PyTorch $torch_version, torchaudio, soundfile and soxr in $torch_env"
fi
