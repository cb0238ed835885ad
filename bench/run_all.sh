#!/usr/bin/env bash
# `make bench`: runs benchmarks and writes each table into docs/performance.md
# under the command that made it, between <!-- bench:NAME --> markers.
# Usage: bench/run_all.sh [BUILD_DIR] [NAME...]
#   NAME: startup features pipeline epoch kernels step_ratio (bench/NAME.sh);
#   none: all of them. Each script's settings are environment variables
#   (see its header); those set are written into the recorded command.
# Env: DOC (docs/performance.md).
set -euo pipefail
build=${1:-build}
shift || true
here=$(cd "$(dirname "$0")" && pwd)
doc=${DOC:-$(realpath "$here/../docs/performance.md")}
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(startup features pipeline epoch kernels step_ratio)
for name in "${names[@]}"; do
  script="$here/$name.sh"
  [[ -f $script ]] || { echo "run_all: no benchmark '$name' (bench/$name.sh)" >&2; exit 2; }
  # The settings the script reads (${VAR:-default}) that are set here.
  settings=""
  for var in $(grep -o '\${[A-Z_]*:-' "$script" | sed 's/[${:-]//g' | sort -u); do
    [[ $var == TORCH_ENV || -z ${!var+x} ]] || settings+="$var=\"${!var}\" "
  done
  out=$(mktemp)
  echo "== $name"
  bash "$script" "$build" | tee "$out"
  python3 "$here/write_table.py" "$doc" "$name" "${settings}bash bench/$name.sh build" "$out"
  rm -f "$out"
done
echo "tables written to $doc"
