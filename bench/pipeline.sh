#!/usr/bin/env bash
# Triplets/s delivered by the data pipeline for Table 1's shapes (batch 256,
# 198x128 tiles) on 2 threads: cold cache, warm cache, and recomputing the
# features of every tile. Compare with the step's consumption (bench/step.sh).
set -euo pipefail
build=${1:-build}
echo "### Data pipeline (synthetic DCASE, 9 classes x ${CLIPS:-12} clips)"
echo
echo "| cache | threads | triplets/s |"
echo "|---|---|---|"
"$build/apps/tessera/tessera" bench pipeline --clips-per-class "${CLIPS:-12}" --threads 2 | while read -r line; do
  echo "| $(echo "$line" | sed -n 's/.*cache=\([a-z-]*\).*/\1/p') | 2 | $(echo "$line" | sed -n 's/.*triplets_per_s=\([0-9.]*\).*/\1/p') |"
done
