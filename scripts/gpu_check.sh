#!/usr/bin/env bash
# The GPU check (issue #21), run on a lent GPU machine from the repository
# root, with .gpu/ carried (scripts/gpu_pack.sh BUILD_DIR, here, first):
#   1. the tests labelled gpu (tests/train/cuda_test.cpp,
#      tests/apps/cli_cuda_train_test.cpp, two ranks sharing the GPU among
#      them);
#   2. `tessera bench step --device cuda` at Table 1's shape (ResNet18,
#      width 64, 512-d, batch 256), bf16 and fp32, interleaved with the
#      PyTorch 2.11 peer on the same GPU (bench/peers/step_torch.py: eager
#      with channels-last and bf16 autocast, and with torch.compile), and
#      bf16 with NCHW, with LibTorch's Adam loop, and from a CUDA graph;
#   3. one bf16 epoch of `tessera train --device cuda` on a synthetic
#      DCASE-layout set with a warm feature cache, and the DCASE epoch time
#      projected from its triplets/s; then the same epoch with --cuda-graph.
# OUT_DIR gets summary.md, check.log, gpu_table.md (docs/performance.md's
# GPU section: bench/write_table.py docs/performance.md gpu ...) and
# details.tar.gz (the tests' XML, steps.md, steps.log, epoch.json). A
# failing part is recorded and the next one still runs.
# Usage: scripts/gpu_check.sh [OUT_DIR]   Env: CLIPS (200 per class), STEPS (20),
#   WARMUP (5), DCASE_TRIPLETS (365000, Table 1's epoch), BUDGET (420 s: the
#   graphed epoch is skipped when it is later than that). Each part has a
#   timeout of its own, so a hang costs that part only.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-${OUT:-gpu_out}}")
mkdir -p "$out"
exec > >(tee -a "$out/check.log") 2>&1
clips=${CLIPS:-200}
steps=${STEPS:-20}
warmup=${WARMUP:-5}
dcase_triplets=${DCASE_TRIPLETS:-365000}
# Seconds after which the optional last part (the graphed epoch) is skipped:
# the device tool allows 600 s a command.
budget=${BUDGET:-420}
status=0
note() { echo "$*" | tee -a "$out/summary.md"; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | tail -1; }
ratio() { [[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || echo "-"; }

[[ -f $root/.gpu/paths ]] || { echo "gpu_check: no .gpu/ (run scripts/gpu_pack.sh here and carry .gpu)"; exit 2; }
# The machine's LibTorch, the carried libraries, and the build's paths.
torch_lib=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$torch_lib:$root/.gpu/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
build=$(sed -n 's/^build=//p' "$root/.gpu/paths")
source_dir=$(sed -n 's/^source=//p' "$root/.gpu/paths")
# Only what is missing: on the machine that packed .gpu/ these are the build.
mkdir -p "$build/apps/tessera" "$build/src" "$build/tests/tmp"
[[ -e $build/apps/tessera/tessera ]] || ln -s "$root/.gpu/bin/tessera" "$build/apps/tessera/tessera"
[[ -e $build/apps/tessera/libtessera_cuda.so ]] ||
  ln -s "$root/.gpu/bin/libtessera_cuda.so" "$build/apps/tessera/libtessera_cuda.so"
[[ -e $build/src/libtessera_data.a ]] || cp "$root/.gpu/libtessera_data.a" "$build/src/"
if [[ ! -e $source_dir ]]; then
  mkdir -p "$(dirname "$source_dir")"
  ln -s "$root" "$source_dir"
fi
tessera=$build/apps/tessera/tessera
echo "# GPU check" >"$out/summary.md"
note "- device: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)"
note "- torch: $(python3 -c 'import torch; print(torch.__version__, torch.cuda.is_available())')"
note "- tessera: $("$tessera" --version 2>&1 | head -1)"

echo "== 1. tests labelled gpu"
for t in train_cuda_test apps_cli_cuda_train_test; do
  if timeout 300 "$root/.gpu/bin/$t" --gtest_output="xml:$out/$t.xml"; then
    note "- $t: passed ($(grep -c '<testcase' "$out/$t.xml") tests, $(grep -c '<skipped' "$out/$t.xml") skipped)"
  else
    note "- $t: FAILED"
    status=1
  fi
done

echo "== 2. training step, Table 1's shape, batch 256"
# bf16 dense peaks (TFLOP/s, NVIDIA's data sheets) of the cards lent here.
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
case "$gpu_name" in
  *H200*) peak=989 ;;
  *H100*PCIe*) peak=756 ;;
  *H100*) peak=989 ;;
  *) peak= ;;
esac
{
  echo "| precision | layout | Tessera s/step | PyTorch eager s/step | PyTorch compile s/step | Tessera / eager | Tessera / compile | Tessera TFLOP/s | share of bf16 peak |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >"$out/steps.md"
peer=$root/bench/peers/step_torch.py
common=(--batch 256 --width 64 --embedding 512 --steps "$steps" --warmup "$warmup")
tflops() { [[ -n $1 ]] && awk -v g="$1" 'BEGIN { printf "%.0f", g / 1000 }' || echo "-"; }
share() { [[ -n $1 && -n $peak ]] && awk -v g="$1" -v p="$peak" 'BEGIN { printf "%.0f%%", 100 * g / 1000 / p }' || echo "-"; }
for precision in bf16 fp32; do
  line=$(timeout 120 "$tessera" bench step --device cuda --precision "$precision" "${common[@]}" | tee -a "$out/steps.log" | grep '^step:')
  ours=$(echo "$line" | field median_step_s)
  gflops=$(echo "$line" | field gflops_per_s)
  eager=$(timeout 120 python3 "$peer" --device cuda --precision "$precision" "${common[@]}" | tee -a "$out/steps.log" | field median_step_s)
  compiled=$(timeout 240 python3 "$peer" --device cuda --compile --precision "$precision" "${common[@]}" | tee -a "$out/steps.log" | field median_step_s)
  echo "| $precision | nhwc | ${ours:--} | ${eager:--} | ${compiled:--} | $(ratio "$ours" "$eager") | $(ratio "$ours" "$compiled") | $(tflops "$gflops") | $(share "$gflops") |" >>"$out/steps.md"
  [[ -n $ours ]] || status=1
done
# Tessera's other choices on a GPU, bf16, each against its default: NCHW
# against NHWC, LibTorch's per-parameter Adam loop against the fused update,
# and the step replayed from a CUDA graph (the warm-up covers its capture).
variant() {
  local label=$1
  shift
  line=$(timeout 120 "$tessera" bench step --device cuda --precision bf16 "$@" "${common[@]}" | tee -a "$out/steps.log" | grep '^step:')
  gflops=$(echo "$line" | field gflops_per_s)
  secs=$(echo "$line" | field median_step_s)
  echo "| bf16 | $label | ${secs:--} | - | - | - | - | $(tflops "$gflops") | $(share "$gflops") |" >>"$out/steps.md"
}
variant "nchw" --layout nchw
variant "nhwc, Adam loop" --adam loop
variant "nhwc, CUDA graph" --cuda-graph
note "- bf16 dense peak taken for '$gpu_name': ${peak:-unknown} TFLOP/s"
cat "$out/steps.md" | tee -a "$out/summary.md"

echo "== 3. one epoch on synthetic data, warm cache"
# The table for docs/performance.md's GPU section: written after each epoch,
# so that a later part that runs out of time leaves the earlier numbers.
write_table() {
  {
    cat "$out/steps.md"
    echo
    echo "| epoch on synthetic data (bf16, warm cache) | eager | CUDA graph |"
    echo "|---|---|---|"
    python3 - "$dcase_triplets" "$out/epoch.json" "$out/epoch_graph.json" <<'PY'
import json, os, sys
triplets = float(sys.argv[1])
runs = [json.load(open(p)) if os.path.exists(p) else None for p in sys.argv[2:]]
def row(name, show):
    print(f"| {name} | " + " | ".join("-" if t is None else show(t) for t in runs) + " |")
def percent(x):
    return "-" if x is None else f"{100 * x:.1f}%"
def epoch_s(t):
    return triplets / t["loop_triplets_per_second"]
row("triplets per second in the loop", lambda t: f"{t['loop_triplets_per_second']:.0f}")
row("device idle between steps", lambda t: percent(t.get("device_idle_fraction")))
row("host waiting for data (share of wall time)", lambda t: percent(t["data_wait_fraction"]))
row("steps replayed from the graph", lambda t: "-" if t.get("cuda_graph_replays") is None else f"{t['cuda_graph_replays']} of {t['steps']}")
row(f"projected Table 1 DCASE epoch ({triplets:.0f} triplets)", lambda t: f"{epoch_s(t):.0f} s")
row("projected sweep, training only (6 margins x 10 epochs)", lambda t: f"{60 * epoch_s(t) / 60:.0f} min")
PY
    echo
    echo "Device: $gpu_name; bf16 dense peak ${peak:-unknown} TFLOP/s."
  } >"$out/gpu_table.md"
}
epoch_args=(--set epochs=1 --device cuda --precision bf16 --no-tensorboard)
work=$(mktemp -d)
config=$root/configs/margin_experiment_dcase.json
if "$tessera" synth -o "$work/data" --clips-per-class "$clips" --threads "$(nproc)" >/dev/null &&
  "$tessera" cache build -c "$config" --set dcase_dataset_path="$work/data" \
    --cache-dir "$work/cache" >/dev/null &&
  timeout 240 "$tessera" train -c "$config" --set dcase_dataset_path="$work/data" \
    --set cache_dir="$work/cache" "${epoch_args[@]}" --run-dir "$work/run"; then
  cp "$work/run/metrics/timing.json" "$out/epoch.json"
  note "- epoch: $(python3 -c "import json; t = json.load(open('$out/epoch.json')); print(t['triplets'], 'triplets,', round(t['loop_seconds'], 1), 's in the loop,', round(t['step_seconds'], 1), 's in steps, waiting for data', round(100 * t['data_wait_fraction'], 1), '% of the wall time')")"
  write_table
  # The same epoch with the step replayed from a CUDA graph, if the time
  # left allows one more epoch.
  if ((SECONDS > budget)); then
    note "- epoch with --cuda-graph: skipped, ${SECONDS} s gone (BUDGET ${budget} s)"
  elif timeout 240 "$tessera" train -c "$config" --set dcase_dataset_path="$work/data" \
    --set cache_dir="$work/cache" "${epoch_args[@]}" --cuda-graph --run-dir "$work/graph"; then
    cp "$work/graph/metrics/timing.json" "$out/epoch_graph.json"
    note "- epoch with --cuda-graph: $(python3 -c "import json; t = json.load(open('$out/epoch_graph.json')); print(round(t['loop_triplets_per_second']), 'triplets/s in the loop,', t['cuda_graph_replays'], 'of', t['steps'], 'steps replayed')")"
    write_table
  else
    note "- epoch with --cuda-graph: FAILED"
    status=1
  fi
  sed -n '/projected Table 1/p' "$out/gpu_table.md" | tee -a "$out/summary.md"
else
  note "- epoch: FAILED"
  status=1
fi
rm -rf "$work"
note "- status: $([[ $status == 0 ]] && echo ok || echo 'see check.log')"
# The device tool brings back few files: everything but the summary and the
# log travels in one archive.
mapfile -t details < <(cd "$out" && ls -A | grep -v -x -e summary.md -e check.log -e gpu_table.md)
if [[ ${#details[@]} -gt 0 ]]; then
  tar -czf "$out/details.tar.gz" -C "$out" "${details[@]}" && (cd "$out" && rm -rf "${details[@]}")
fi
exit $status
