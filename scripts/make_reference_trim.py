#!/usr/bin/env python3
"""Reference silence trimming that no Tessera code computed: librosa's
effects.trim (the music layout trims as it does) on WAVs made here.

For each WAV and each top_db it records librosa's [start, end) sample span.
It also records how far the frame nearest the threshold lies from it, in
dB: librosa works in float64 and Tessera in float32 samples with float64
sums, so a frame within a hair of -top_db could fall either way. The inputs
are made so that every frame is at least MARGIN_DB away; the test can then
ask for the same span exactly.

Writes into tests/data/reference/ (or the folder given): trim_<name>.wav and
trim.json. Usage: scripts/make_reference_trim.py [OUT_DIR]
Needs numpy and librosa (PyPI), e.g. in a throw-away virtual environment."""
import json
import os
import sys
import wave

import librosa
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_reference_features import write_wav  # noqa: E402 (the same 16-bit PCM writer)

FRAME_LENGTH, HOP_LENGTH = 2048, 512
TOP_DBS = [60.0, 30.0]
MARGIN_DB = 0.05


def inputs():
    rng = np.random.default_rng(7)

    def quiet(rate, seconds, channels=1, level=1e-4):
        return level * rng.standard_normal((int(rate * seconds), channels))

    out = []
    rate = 22050
    x = np.arange(int(rate * 0.5)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 330 * x)[:, None]
    out.append(("tone_22k", rate, np.vstack([quiet(rate, 0.3), tone, quiet(rate, 0.4)])))
    rate = 16000
    n = int(rate * 0.6)
    burst = 0.3 * rng.standard_normal((n, 2)) * np.exp(-np.arange(n) / (0.15 * rate))[:, None]
    out.append(("burst_16k_stereo", rate, np.vstack([quiet(rate, 0.2, 2), burst,
                                                     quiet(rate, 0.3, 2)])))
    rate = 44100
    n = int(rate * 0.4)
    ramp = np.linspace(0.0, 1.0, n)[:, None] ** 3
    x = np.arange(n) / rate
    out.append(("fade_in_44k", rate, np.vstack([quiet(rate, 0.1),
                                                0.6 * ramp * np.sin(2 * np.pi * 500 * x)[:, None],
                                                quiet(rate, 0.1)])))
    return out


def margin(y, top_db):
    mse = librosa.feature.rms(y=y, frame_length=FRAME_LENGTH, hop_length=HOP_LENGTH)[0] ** 2
    db = librosa.power_to_db(mse, ref=np.max, top_db=None)
    return float(np.min(np.abs(db + top_db)))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "data",
                                                                   "reference")
    os.makedirs(out_dir, exist_ok=True)
    index = {"librosa": librosa.__version__, "frame_length": FRAME_LENGTH,
             "hop_length": HOP_LENGTH, "files": {}}
    for name, rate, samples in inputs():
        pcm = write_wav(os.path.join(out_dir, "trim_" + name + ".wav"), rate, samples)
        y = librosa.to_mono(pcm.T)
        spans = {}
        for top_db in TOP_DBS:
            _, (start, end) = librosa.effects.trim(y, top_db=top_db, frame_length=FRAME_LENGTH,
                                                   hop_length=HOP_LENGTH)
            m = margin(y, top_db)
            if m < MARGIN_DB:
                sys.exit(f"{name}: a frame lies {m:.4f} dB from -{top_db} dB; change the input")
            spans[str(top_db)] = {"start": int(start), "end": int(end), "margin_db": m}
            print(f"{name} top_db {top_db}: [{start}, {end}) of {len(y)}, margin {m:.3f} dB")
        index["files"][name] = {"sample_rate": rate, "frames": len(y), "spans": spans}
    with open(os.path.join(out_dir, "trim.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
