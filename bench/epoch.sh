#!/usr/bin/env bash
# End-to-end training throughput against the training step alone, and how
# epoch time and step time scale.
#
#   1. One epoch of `tessera train` on a synthetic DCASE set with a warm
#      feature cache: triplets/s of the epoch loop (the data pipeline
#      included) against triplets/s of the steps inside it, from the run's
#      metrics/timing.json. Their gap is the time lost to the data pipeline.
#   2. Epoch time against dataset size (clips per class), same model.
#   3. Step time against batch size (`tessera bench step`).
#
# Usage: bench/epoch.sh [BUILD_DIR]
# Env: WIDTH (64), BATCH (16), CLIPS (8), SIZES ("4 8 16 32"), SIZE_WIDTH (16),
#      BATCHES ("4 8 16 32"), THREADS (2), PRECISION (fp32, or bf16),
#      WORK (a temporary directory).
set -euo pipefail
build=${1:-build}
tessera="$(realpath "$build/apps/tessera/tessera")"
config="$(realpath "$(dirname "$0")/../configs/margin_experiment_dcase.json")"
width=${WIDTH:-64}
batch=${BATCH:-16}
clips=${CLIPS:-8}
sizes=${SIZES:-"4 8 16 32"}
size_width=${SIZE_WIDTH:-16}
batches=${BATCHES:-"4 8 16 32"}
threads=${THREADS:-2}
precision=${PRECISION:-fp32}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"

json() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$@"; }
fmt() { awk -v v="$1" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, v }'; }

# train_epoch DATA RUN WIDTH: one epoch, warm cache, Table 1 otherwise
# (embedding 512, 198x128 tiles), evaluation limited to 64 anchors.
train_epoch() {
  local data=$1 run=$2 w=$3
  local sets=(--set "dcase_dataset_path=$data" --set epochs=1 --set "batch_size=$batch"
              --set "model_width=$w" --set prefetch_batches=8 --set gen_count="$threads"
              --set num_parallel_calls="$threads" --set max_eval_anchors=64
              --set log_level=warning --set "cache_dir=$data.cache")
  "$tessera" cache build -c "$config" "${sets[@]}" --threads "$threads" > /dev/null
  rm -rf "$run"
  mkdir -p "$run"
  "$tessera" train -c "$config" "${sets[@]}" --threads "$threads" --precision "$precision" \
    --run-dir "$run" > /dev/null
}

dataset() {
  local n=$1
  [[ -f "$work/data_$n/evaluation_setup/fold1_test.txt" ]] ||
    "$tessera" synth -o "$work/data_$n" --clips-per-class "$n" --threads "$threads" > /dev/null
  echo "$work/data_$n"
}

echo "### End-to-end epoch vs the step alone (warm cache, ResNet18 width $width, batch $batch, $threads threads, $precision)"
echo
echo "| clips | triplets | loop s | step s | loop triplets/s | step triplets/s | pipeline overhead | data wait s |"
echo "|---|---|---|---|---|---|---|---|"
data=$(dataset "$clips")
train_epoch "$data" "$work/run_e2e" "$width"
t="$work/run_e2e/metrics/timing.json"
echo "| $((clips * 9)) | $(json "$t" triplets) | $(fmt "$(json "$t" loop_seconds)") | $(fmt "$(json "$t" step_seconds)") | $(fmt "$(json "$t" loop_triplets_per_second)") | $(fmt "$(json "$t" step_triplets_per_second)") | $(fmt "$(awk -v f="$(json "$t" pipeline_overhead_fraction)" 'BEGIN { print 100 * f }')")% | $(fmt "$(json "$t" data_wait_seconds)" 3) |"

echo
echo "### Epoch time vs dataset size (warm cache, width $size_width, batch $batch, $threads threads, $precision)"
echo
echo "| clips | triplets | loop s | s per 1000 triplets |"
echo "|---|---|---|---|"
for n in $sizes; do
  data=$(dataset "$n")
  train_epoch "$data" "$work/run_size_$n" "$size_width"
  t="$work/run_size_$n/metrics/timing.json"
  trip=$(json "$t" triplets)
  loop=$(json "$t" loop_seconds)
  echo "| $((n * 9)) | $trip | $(fmt "$loop") | $(fmt "$(awk -v l="$loop" -v n="$trip" 'BEGIN { print 1000 * l / n }')" 2) |"
done

echo
echo "### Step time vs batch size (ResNet18 width $width, $threads threads, $precision)"
echo
echo "| batch | s/step | s per triplet | triplets/s |"
echo "|---|---|---|---|"
for b in $batches; do
  out=$("$tessera" bench step --batch "$b" --threads "$threads" --width "$width" --steps 3 --warmup 1 --precision "$precision")
  s=$(echo "$out" | sed -n 's/.*median_step_s=\([0-9.]*\).*/\1/p' | tail -1)
  echo "| $b | $s | $(fmt "$(awk -v s="$s" -v b="$b" 'BEGIN { print s / b }')" 3) | $(echo "$out" | sed -n 's/.*triplets_per_s=\([0-9.]*\).*/\1/p' | tail -1) |"
done
