#!/usr/bin/env bash
# What each method choice buys on real recordings: trains every row of the
# ablation on the dev set of scripts/build_devset.sh, scores each run with
# the same probe (`tessera classify`, logistic, full labels and 2 labels per
# class) and writes the table into docs/quality.md under the command.
#
# Regime (a): trained on the labelled set's training split alone.
# Regime (b): pretrained on the dev set's unlabelled pool, probed on the
#             same labelled split.
# Every trained row is configs/real_audio.json with the keys in its row
# changed; "the study's method" resets every method key to the study's
# default, and each "alone" row adds one option to it.
#
# Usage: bench/quality.sh DEVSET [BUILD_DIR]
# Env: SEEDS ("1 2 3"), THREADS (2), ROWS (all; names from the table below,
#      space-separated), WORK (a temporary directory), DOC (docs/quality.md).
set -euo pipefail
devset=$(realpath "${1:?usage: bench/quality.sh DEVSET [BUILD_DIR]}")
build=${2:-build}
here=$(cd "$(dirname "$0")" && pwd)
tessera=$(realpath "$build/apps/tessera/tessera")
config=$(realpath "$here/../configs/real_audio.json")
seeds=${SEEDS:-"1 2 3"}
threads=${THREADS:-2}
work=${WORK:-$(mktemp -d)}
doc=${DOC:-$(realpath "$here/../docs/quality.md")}
labelled="$devset/labelled/dcase"
pool="$devset/pool"
[[ -f $labelled/meta.txt && -d $pool ]] || {
  echo "quality: '$devset' is not a dev set (scripts/build_devset.sh OUT makes one)" >&2
  exit 1
}
labels=$(cut -f2 "$labelled/meta.txt" | sort -u | paste -sd, | sed 's/,/","/g')
mkdir -p "$work"

study=(--set pooling=average --set projection_head=linear --set loss=triplet
       --set input_normalisation=none --set mixback_probability=0 --set gain_probability=0
       --set time_mask_probability=0 --set freq_mask_probability=0)
augment=(--set mixback_probability=0.5 --set gain_probability=0.5
         --set time_mask_probability=0.5 --set freq_mask_probability=0.5)
on_pool=(--set dataset=FolderDataset --set "unlabelled_dataset_path=$pool"
         --set eval_dataset=DCASEDataset)

# The ablation trains 10 epochs, so that the whole table fits its time: every
# row but `recommended`, which trains configs/real_audio.json as it stands
# (16). `recommended_10` is the reference the "instead" rows are read against.
short=(--set epochs=10)

# row NAME: the overrides of that row (on top of configs/real_audio.json and,
# for every row but `recommended`, the ablation's epochs).
row_sets() {
  case $1 in
    study) echo "${study[@]}" ;;
    pooling) echo "${study[@]} --set pooling=time_stats" ;;
    head) echo "${study[@]} --set projection_head=mlp" ;;
    augment) echo "${study[@]} ${augment[@]}" ;;
    mixback) echo "${study[@]} --set mixback_probability=0.5" ;;
    semi_hard) echo "${study[@]} --set loss=semi_hard" ;;
    nt_xent) echo "${study[@]} --set loss=nt_xent" ;;
    standardise) echo "${study[@]} --set input_normalisation=dataset" ;;
    recommended) echo "" ;;
    recommended_10) echo "" ;;
    minus_pooling) echo "--set pooling=average" ;;
    minus_head) echo "--set projection_head=linear" ;;
    minus_augment) echo "--set mixback_probability=0 --set gain_probability=0 --set time_mask_probability=0 --set freq_mask_probability=0" ;;
    minus_nt_xent) echo "--set loss=triplet" ;;
    plus_standardise) echo "--set input_normalisation=dataset" ;;
    pool_study) echo "${study[@]} ${on_pool[@]}" ;;
    pool_recommended) echo "${on_pool[@]}" ;;
    *) echo "quality: no row '$1'" >&2; exit 2 ;;
  esac
}
all_rows="study pooling head augment semi_hard nt_xent standardise recommended recommended_10 minus_pooling minus_head minus_augment minus_nt_xent plus_standardise pool_study pool_recommended"
rows=${ROWS:-$all_rows}

# A row already finished in WORK (its time recorded in RUN.seconds) is kept,
# so an interrupted benchmark goes on where it stopped; the table's total is
# the sum of the rows' recorded times.
for seed in $seeds; do
  for name in $rows; do
    run="$work/$name/seed$seed"
    [[ -f $run.seconds ]] && continue
    row_start=$(date +%s)
    rm -rf "$run"
    mkdir -p "$run"
    epochs=()
    [[ $name == recommended ]] || epochs=("${short[@]}")
    # shellcheck disable=SC2046
    "$tessera" train -c "$config" --run-dir "$run" --threads "$threads" \
      --set "dcase_dataset_path=$labelled" --set "labels=[\"$labels\"]" \
      --set "random_seed=$seed" --set "cache_dir=$work/cache" --set log_level=warning \
      "${epochs[@]}" $(row_sets "$name") > "$run.log" 2>&1 ||
      { echo "quality: training $name seed $seed failed (see $run.log)" >&2; exit 1; }
    # The probe reads the layer the loss did not shape directly when a
    # projection head sits between them, as the literature reports it.
    layer=embedding
    grep -q '"projection_head": "mlp"' "$run/config.json" && layer=pooled
    for k in 0 2; do
      "$tessera" classify --run-dir "$run" --threads "$threads" --layer "$layer" \
        --labels-per-class "$k" --out "$run/probe_$k" > /dev/null
    done
    # The baselines, on the same split and probe: the hand-crafted summary
    # and the recommended network's own untrained weights.
    if [[ $name == recommended ]]; then
      for k in 0 2; do
        "$tessera" classify --run-dir "$run" --threads "$threads" --features logmel-stats \
          --labels-per-class "$k" --out "$run/logmel_$k" > /dev/null
        "$tessera" classify --run-dir "$run" --threads "$threads" --layer "$layer" \
          --random-weights --labels-per-class "$k" --out "$run/random_$k" > /dev/null
      done
    fi
    echo $(( $(date +%s) - row_start )) > "$run.seconds"
    echo "quality: $name seed $seed done ($(cat "$run.seconds") s)" >&2
  done
done
total=0
for name in $rows; do
  for seed in $seeds; do total=$(( total + $(cat "$work/$name/seed$seed.seconds") )); done
done

out=$(mktemp)
python3 "$here/quality_table.py" "$work" "$total" "$threads" $rows > "$out"
cat "$out"
cmd="bash bench/quality.sh DEVSET"
[[ -n ${SEEDS+x} ]] && cmd="SEEDS=\"$seeds\" $cmd"
[[ -n ${ROWS+x} ]] && cmd="ROWS=\"$rows\" $cmd"
python3 "$here/write_table.py" "$doc" quality "$cmd" "$out"
rm -f "$out"
echo "quality: table written to $doc" >&2
