#!/usr/bin/env bash
# `make bench`: every benchmark table, one after another.
set -euo pipefail
build=${1:-build}
here=$(dirname "$0")
echo "## Features (10 s clips)"
bash "$here/features.sh" "$build"
for extra in "$here"/startup.sh "$here"/pipeline.sh "$here"/step.sh "$here"/kernels.sh "$here"/step_ratio.sh "$here"/epoch.sh; do
  [[ -f $extra ]] && { echo; bash "$extra" "$build"; }
done
echo
echo "## Micro-benchmarks"
for b in "$build"/bench/*_bench; do "$b" --benchmark_min_time=0.2; done
