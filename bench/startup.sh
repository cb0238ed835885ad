#!/usr/bin/env bash
# What LibTorch's CUDA libraries cost a CPU-only run: `tessera --help` and
# `tessera features` on one 10 s clip, as built (LibTorch's CPU libraries
# only; the CUDA module is loaded for --device cuda alone) against the same
# binary with the CUDA module preloaded, which maps libtorch_cuda and
# NVIDIA's libraries as linking them would. Interleaved runs; medians.
# Usage: bench/startup.sh [BUILD_DIR]   Env: RUNS (7).
set -euo pipefail
build=${1:-build}
tessera="$build/apps/tessera/tessera"
module="$build/apps/tessera/libtessera_cuda.so"
runs=${RUNS:-7}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$tessera" synth --output "$tmp/data" --layout dcase --classes 2 --clips-per-class 2 >/dev/null
clip=$(find "$tmp/data" -name '*.wav' | head -1)

measure() {  # prints "seconds max_rss_kb"
  /usr/bin/time -f '%e %M' -o "$tmp/t" "$@" >/dev/null 2>&1
  cat "$tmp/t"
}
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo "| command | CUDA libraries | median s | median max RSS MB |"
echo "|---|---|---|---|"
for name in help features; do
  if [[ $name == help ]]; then cmd=("$tessera" --help); else
    cmd=("$tessera" features --input "$clip" --output "$tmp/f.npy"); fi
  : >"$tmp/cpu"
  : >"$tmp/cuda"
  for ((i = 0; i < runs; i++)); do
    measure "${cmd[@]}" >>"$tmp/cpu"
    LD_PRELOAD=$(readlink -f "$module") measure "${cmd[@]}" >>"$tmp/cuda"
  done
  for v in cpu cuda; do
    s=$(awk '{print $1}' "$tmp/$v" | median)
    m=$(awk '{print $2 / 1024}' "$tmp/$v" | median)
    label=$([[ $v == cpu ]] && echo "not loaded (as built)" || echo "loaded (as if linked)")
    printf '| tessera %s | %s | %.2f | %.0f |\n' "$name" "$label" "$s" "$m"
  done
done
