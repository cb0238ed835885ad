#!/usr/bin/env bash
# The bf16 speed-up over fp32 of `tessera bench step` (Table 1's model), as
# interleaved pairs: fp32, then bf16, PAIRS times for each batch and thread
# count, so that drifts of this shared machine's speed (often 30% within
# minutes) fall on both sides of each ratio. Prints each pair's ratio, the
# median and the lowest.
# Usage: bench/step_ratio.sh [BUILD_DIR]
# Env: PAIRS (5), BATCHES ("16 64"), THREADS ("1 2"), STEPS (5), WARMUP (2).
set -euo pipefail
build=${1:-build}
tessera="$build/apps/tessera/tessera"
pairs=${PAIRS:-5}
steps=${STEPS:-5}
warmup=${WARMUP:-2}
median_of() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
step_s() {
  "$tessera" bench step --batch "$1" --threads "$2" --steps "$steps" --warmup "$warmup" \
    --precision "$3" | sed -n 's/.*median_step_s=\([0-9.]*\).*/\1/p' | tail -1
}
echo "| batch | threads | fp32 s/step (median) | bf16 s/step (median) | fp32/bf16 of each pair | median | lowest |"
echo "|---|---|---|---|---|---|---|"
for b in ${BATCHES:-16 64}; do
  for t in ${THREADS:-1 2}; do
    fp32=() bf16=() ratios=()
    for ((i = 0; i < pairs; ++i)); do
      f=$(step_s "$b" "$t" fp32)
      h=$(step_s "$b" "$t" bf16)
      fp32+=("$f") bf16+=("$h")
      ratios+=("$(awk -v a="$f" -v b="$h" 'BEGIN { printf "%.2f", a / b }')")
    done
    echo "| $b | $t | $(printf '%s\n' "${fp32[@]}" | median_of) | $(printf '%s\n' "${bf16[@]}" | median_of)" \
      "| ${ratios[*]} | $(printf '%s\n' "${ratios[@]}" | median_of) | $(printf '%s\n' "${ratios[@]}" | sort -g | head -1) |"
  done
done
