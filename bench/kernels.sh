#!/usr/bin/env bash
# Whether each of Tessera's own CPU kernels (src/tessera/ops/) and the
# allocator setting still earn their place: the whole
# training step of Table 1's model (ResNet18, width 64, embedding 512,
# 198x128 tiles) with each one off, against every one on, and the PyTorch
# 2.11 peer (bench/peers/step_torch.py: fp32, and for bf16 PyTorch's CPU
# recipe, autocast with channels-last model and input).
#
# The variants alternate within each round, so the machine's drift falls on
# all of them; a cell is the median over rounds of each run's median step.
# The last column is the variant's time over "bf16 all" (or "fp32 nchw") of
# the same rounds: above 1.10 for a kernel switched off means that kernel
# makes the step at least 10% faster.
#
# Usage: bench/kernels.sh [BUILD_DIR]
#   Env: BATCHES ("16 64"), THREADS ("1 2"), ROUNDS (3), STEPS (3), WARMUP (2),
#        VARIANTS (all of them, by the names in the table), TORCH_ENV.
set -euo pipefail
build=${1:-build}
tessera="$build/apps/tessera/tessera"
peer="$(dirname "$0")/peers/step_torch.py"
py=$(bash "$(dirname "$0")/../scripts/peer_env.sh" "${TORCH_ENV:-/opt/tessera/torch-2.11.0}")/bin/python
rounds=${ROUNDS:-3}
steps=${STEPS:-3}
warmup=${WARMUP:-2}
all_variants="bf16_all bf16_no_conv_tuning bf16_no_fused_batch_norm bf16_libtorch_nhwc bf16_libtorch_nchw \
bf16_glibc_malloc peer_bf16 fp32_nchw fp32_nhwc fp32_glibc_malloc peer_fp32"
variants=${VARIANTS:-$all_variants}

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | tail -1; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One run of a variant: its median step time in seconds.
run() {
  local v=$1 b=$2 t=$3
  local common=(--batch "$b" --threads "$t" --steps "$steps" --warmup "$warmup")
  case $v in
    bf16_all) "$tessera" bench step "${common[@]}" --precision bf16 ;;
    bf16_no_conv_tuning) "$tessera" bench step "${common[@]}" --precision bf16 --kernels fused_batch_norm+bf16_channels_last ;;
    bf16_no_fused_batch_norm) "$tessera" bench step "${common[@]}" --precision bf16 --kernels conv_tuning+bf16_channels_last ;;
    bf16_libtorch_nhwc) "$tessera" bench step "${common[@]}" --precision bf16 --kernels bf16_channels_last ;;
    bf16_libtorch_nchw) "$tessera" bench step "${common[@]}" --precision bf16 --kernels none ;;
    bf16_glibc_malloc) "$tessera" --malloc glibc bench step "${common[@]}" --precision bf16 ;;
    peer_bf16) "$py" "$peer" "${common[@]}" --precision bf16 2>/dev/null ;;
    fp32_nchw) "$tessera" bench step "${common[@]}" ;;
    fp32_nhwc) "$tessera" bench step "${common[@]}" --layout nhwc ;;
    fp32_glibc_malloc) "$tessera" --malloc glibc bench step "${common[@]}" ;;
    peer_fp32) "$py" "$peer" "${common[@]}" --precision fp32 2>/dev/null ;;
    *) echo "unknown variant $v" >&2; return 1 ;;
  esac | field median_step_s
}

echo "| batch | threads | variant | runs (s/step) | median | / reference |"
echo "|---|---|---|---|---|---|"
for b in ${BATCHES:-16 64}; do
  for t in ${THREADS:-1 2}; do
    declare -A times=()
    for ((r = 0; r < rounds; r++)); do
      for v in $variants; do times[$v]+=" $(run "$v" "$b" "$t")"; done
      echo "round $((r + 1))/$rounds batch $b threads $t done" >&2
    done
    for v in $variants; do
      m=$(echo "${times[$v]}" | median)
      ref=bf16_all
      [[ $v == fp32_* || $v == peer_fp32 ]] && ref=fp32_nchw
      rel=""
      if [[ -n ${times[$ref]:-} ]]; then
        rel=$(awk -v a="$m" -v b="$(echo "${times[$ref]}" | median)" 'BEGIN { printf "%.2f", a / b }')
      fi
      echo "| $b | $t | $v |${times[$v]} | $m | $rel |"
    done
    unset times
  done
done
