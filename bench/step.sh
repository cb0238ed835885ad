#!/usr/bin/env bash
# The training step of Table 1's model (ResNet18, width 64, embedding 512,
# tiles 198x128) in Tessera (C++) and in PyTorch-Python (bench/peers/step_torch.py),
# run back to back; the machine's matmul peak through the same LibTorch; bf16.
# Tessera keeps freed memory in the process (common/allocator.h); the last
# PyTorch column runs the peer with glibc tuned the same way (GLIBC_TUNABLES),
# to separate that setting from everything else. The last column is the fp32
# step time over the bf16 one of the run just before (bf16 on NHWC
# activations, the default).
# Usage: bench/step.sh [BUILD_DIR]   Env: STEPS (5), WARMUP (2), BATCHES ("16 64"),
#   TORCH_ENV (/opt/tessera/torch-2.11.0).
set -euo pipefail
build=${1:-build}
tessera="$build/apps/tessera/tessera"
peer="$(dirname "$0")/peers/step_torch.py"
# The peer: PyTorch 2.11 from the environment scripts/setup.sh makes.
py=$(bash "$(dirname "$0")/../scripts/peer_env.sh" "${TORCH_ENV:-/opt/tessera/torch-2.11.0}")/bin/python
steps=${STEPS:-5}
warmup=${WARMUP:-2}
batches=${BATCHES:-"16 64"}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | tail -1; }
echo "### Matmul peak (2048^2, LibTorch)"
echo
echo "| dtype | threads | GFLOP/s |"
echo "|---|---|---|"
for t in 1 2; do
  "$tessera" bench peak --threads "$t" | while read -r line; do
    echo "| $(echo "$line" | sed -n 's/.*dtype=\([a-z0-9]*\).*/\1/p') | $t | $(echo "$line" | field gflops_per_s) |"
  done
done
echo
echo "### Training step, ResNet18 width 64, embedding 512, 198x128 tiles"
echo
# Tessera passes -1 to mallopt (no trimming); the tunable takes a size: 1 TiB.
tuned="glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=1099511627776"
echo "| batch | threads | precision | Tessera s/step | PyTorch s/step | Tessera/PyTorch | triplets/s | GFLOP/s | peak RSS MB | PyTorch, same malloc, s/step | fp32/bf16 |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for b in $batches; do
  for t in 1 2; do
    out=$("$tessera" bench step --batch "$b" --threads "$t" --steps "$steps" --warmup "$warmup")
    ours=$(echo "$out" | field median_step_s)
    theirs=$("$py" "$peer" --batch "$b" --threads "$t" --steps "$steps" --warmup "$warmup" | field median_step_s)
    ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')
    same=$(GLIBC_TUNABLES=$tuned "$py" "$peer" --batch "$b" --threads "$t" --steps "$steps" --warmup "$warmup" | field median_step_s)
    echo "| $b | $t | fp32 | $ours | $theirs | $ratio | $(echo "$out" | field triplets_per_s) | $(echo "$out" | field gflops_per_s) | $(echo "$out" | field peak_rss_mb) | $same | |"
    out=$("$tessera" bench step --batch "$b" --threads "$t" --steps "$steps" --warmup "$warmup" --precision bf16)
    half=$(echo "$out" | field median_step_s)
    speedup=$(awk -v a="$ours" -v b="$half" 'BEGIN { printf "%.2f", a / b }')
    # The peer's bf16 is PyTorch's own CPU recipe (autocast, channels-last).
    theirs=$("$py" "$peer" --batch "$b" --threads "$t" --steps "$steps" --warmup "$warmup" --precision bf16 | field median_step_s)
    ratio=$(awk -v a="$half" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')
    same=$(GLIBC_TUNABLES=$tuned "$py" "$peer" --batch "$b" --threads "$t" --steps "$steps" --warmup "$warmup" --precision bf16 | field median_step_s)
    echo "| $b | $t | bf16 | $half | $theirs | $ratio | $(echo "$out" | field triplets_per_s) | $(echo "$out" | field gflops_per_s) | $(echo "$out" | field peak_rss_mb) | $same | $speedup |"
  done
done
