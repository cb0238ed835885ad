#!/usr/bin/env bash
# The main job of `make demo`. Usage: scripts/demo.sh TESSERA_BINARY OUT_DIR
set -euo pipefail
tessera=$1
out=$2
mkdir -p "$out"
if "$tessera" --help | grep -q '^  sweep'; then
  "$tessera" synth --output "$out/data" --layout dcase --clips-per-class 12 --seed 1
  "$tessera" sweep --config configs/demo.json --set dcase_dataset_path="$out/data" --out "$out/sweep"
else
  # Until the sweep exists: features of one generated clip.
  "$tessera" bench features --clips 1 --with-decode >/dev/null
  python3 - "$out/tone.wav" <<'PY'
import math, struct, sys, wave
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
    w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 16000)))
                           for i in range(160000)))
PY
  "$tessera" features --config configs/margin_experiment_dcase.json --input "$out/tone.wav" --output "$out/tone_logmel.npy"
fi
