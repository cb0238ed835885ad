#!/usr/bin/env bash
# Packs what scripts/gpu_check.sh needs on a lent GPU machine, which can
# download nothing: the binaries of this Release build that the check runs,
# and the shared libraries they load that the machine lacks. LibTorch's and
# NVIDIA's libraries are left out (the machine's python3 holds torch
# 2.11.0+cu130, the wheel these binaries were built against), and so are the
# C and C++ runtimes (the machine's are newer than Debian 12's).
#
# Writes .gpu/ in the repository root; name it in the device tool's carry.
# Usage: scripts/gpu_pack.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:-build}")
out=$root/.gpu
bins=(apps/tessera/tessera apps/tessera/libtessera_cuda.so tests/train_cuda_test
      tests/apps_cli_cuda_train_test)
for b in "${bins[@]}"; do
  [[ -f $build/$b ]] || { echo "gpu_pack: '$build/$b' is missing; build it first" >&2; exit 2; }
done
grep -qx '/.gpu/' "$root/.git/info/exclude" 2>/dev/null || echo '/.gpu/' >>"$root/.git/info/exclude"
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"
for b in "${bins[@]}"; do cp "$build/$b" "$out/bin/"; done
for b in "${bins[@]}"; do ldd "$build/$b"; done | awk '/=> \// { print $3 }' | sort -u |
  while read -r lib; do
    case "$lib" in
      */torch/lib/* | */nvidia/* | */torch.libs/*) ;;
      */libc.so* | */libm.so* | */libdl.so* | */librt.so* | */libpthread.so* | */libutil.so*) ;;
      */ld-linux*) ;;
      */libstdc++.so* | */libgcc_s.so*) ;;
      *) cp -L "$lib" "$out/lib/" ;;
    esac
  done
# The tests carry the build's paths (TESSERA_BINARY, TESSERA_SOURCE_DIR,
# TESSERA_TEST_TMP, TESSERA_DATA_LIBRARY); gpu_check.sh recreates them there.
cp "$build/src/libtessera_data.a" "$out/"
printf 'build=%s\nsource=%s\n' "$build" "$root" >"$out/paths"
echo "gpu_pack: $(du -sh "$out" | cut -f1) in $out ($(ls "$out/lib" | wc -l) libraries)"
