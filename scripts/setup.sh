#!/usr/bin/env bash
# Installs the Debian packages Tessera needs, and only those that are missing,
# so a second run touches nothing. Works as root on a fresh Debian 12.
# Usage: scripts/setup.sh [bench]
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libtorch-dev libgloo-dev
  libsndfile1-dev libsoxr-dev
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libbenchmark-dev
  # libFuzzer targets (tests/fuzz) are built with clang.
  clang libclang-rt-14-dev
  libplplot-dev plplot-driver-cairo
  # Debian's libtorch calls libblas.so.3; the reference BLAS behind it is ~50x
  # slower than OpenBLAS on a 2048^2 matmul, so a fast one must be installed.
  libopenblas0-openmp
)
# `make bench` also needs the peers it measures Tessera against.
if [[ ${1:-} == bench ]]; then
  packages+=(python3-torch python3-torchaudio)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages are installed"
else
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages: ${missing[*]}" >&2
    echo "setup: run as root, or install them with apt-get" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Make sure libblas.so.3 resolves to OpenBLAS and not the reference BLAS.
if [[ $(id -u) -eq 0 ]] && command -v update-alternatives >/dev/null; then
  alt=/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3
  if [[ -e $alt ]]; then
    update-alternatives --set libblas.so.3-x86_64-linux-gnu "$alt" >/dev/null 2>&1 || true
  fi
fi
