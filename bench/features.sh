#!/usr/bin/env bash
# Log-mel throughput of Tessera against the torch/torchaudio peer, same run,
# same parameters (Table 1's: 16 kHz, frame 480, step 160, FFT 1024, 128 mel).
# Usage: bench/features.sh [BUILD_DIR]   Prints a Markdown table.
set -euo pipefail
build=${1:-build}
tessera="$build/apps/tessera/tessera"
peer="$(dirname "$0")/peers/features_torchaudio.py"
py=$(bash "$(dirname "$0")/../scripts/peer_env.sh" "${TORCH_ENV:-/opt/tessera/torch-2.11.0}")/bin/python  # PyTorch and torchaudio 2.11 (scripts/setup.sh)
clips=${CLIPS:-300}
dclips=${DECODE_CLIPS:-100}

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | tail -1; }

echo "| pipeline | threads | Tessera clips/s | torchaudio clips/s | ratio |"
echo "|---|---|---|---|---|"
for decode in 0 1; do
  for threads in 1 2; do
    if [[ $decode == 1 ]]; then n=$dclips; flag=--with-decode; name="decode+resample+log-mel"
    else n=$clips; flag=; name="log-mel"; fi
    ours=$("$tessera" bench features --clips "$n" --threads "$threads" $flag | field clips_per_s)
    theirs=$("$py" "$peer" --clips "$n" --threads "$threads" $flag | field clips_per_s)
    ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')
    echo "| $name | $threads | $ours | $theirs | ${ratio}x |"
  done
done
