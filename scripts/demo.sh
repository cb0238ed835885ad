#!/usr/bin/env bash
# The main job of `make demo`: a synthetic DCASE-layout dataset and a
# reduced margin sweep over all six margins of the study, then the report.
# Usage: scripts/demo.sh TESSERA_BINARY OUT_DIR
set -euo pipefail
tessera=$1
out=$2
mkdir -p "$out"
if [[ ! -f $out/data/evaluation_setup/fold1_train.txt ]]; then
  "$tessera" synth --output "$out/data" --layout dcase --clips-per-class 16 --seed 1
fi
# configs/demo.json changes only sizes (model width, embedding, epochs,
# batch), never the method. Three seeds per margin, so that the verdict
# states which margins are within noise of the winner. A re-run resumes:
# finished runs are skipped.
"$tessera" sweep --config configs/demo.json --set dcase_dataset_path="$out/data" \
  --out "$out/sweep" --jobs 2 --seeds 3
