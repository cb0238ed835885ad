"""ONNX Runtime's side of the export tests (tests/export/onnx_export_test.cpp,
tests/apps/cli_export_test.cpp): runs an exported model and compares its
outputs with what Tessera computed, printing the largest difference.

  embed MODEL EXPECTED.npy TOL BATCH INPUT...
      TOL: an absolute bound (1e-4), or one relative to the largest
      expected magnitude (1e-4r), for unnormalised outputs such as pooled.
      INPUT: for a logmel model, `tessera features` .npy files; for a waveform
      model, 16-bit PCM mono WAVs. Tiles are cut as Tessera cuts them (from
      the model's metadata), run in batches of BATCH, and compared with
      EXPECTED (`tessera embed --tiles`, rows in the same order).
  frontend MODEL WAV REFERENCE.mel.npy [REFERENCE.mfcc.npy]
      MODEL maps [batch, samples] to [batch, 1, frames, bins] log-mel (or
      MFCC, given the MFCC reference); compared with log(mel + 1e-6) of a
      numpy TF reference mel (tests/data/reference/), or its MFCC, under
      the bounds that tests/features/reference_features_test.cpp derives.
Exit status 0 when within tolerance, 1 otherwise.
"""
import json
import sys
import wave

import numpy as np
import onnxruntime as ort


def read_pcm16_mono(path):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise SystemExit(f"{path}: not 16-bit PCM mono")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data.astype(np.float32) / 32768.0


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def embed(model, expected_path, tol, batch, inputs):
    s = session(model)
    meta = s.get_modelmeta().custom_metadata_map
    kind = meta["input"]
    feats = json.loads(meta["features"])
    tile_frames = int(meta["tile_frames"])
    step_frames = int(meta["tile_step_frames"])
    tiles = []
    for path in inputs:
        if kind == "waveform":
            x = read_pcm16_mono(path)
            n = int(meta["tile_samples"])
            step = step_frames * int(feats["frame_step_samples"])
            tiles += [x[i : i + n] for i in range(0, len(x) - n + 1, step)]
        else:
            f = np.load(path).astype(np.float32)
            if f.ndim == 2:
                f = f[None]  # [channels, frames, bins]
            for t in range(0, f.shape[1] - tile_frames + 1, step_frames):
                tiles.append(f[:, t : t + tile_frames])
    x = np.stack(tiles)
    expected = np.load(expected_path)
    if expected.shape[0] != x.shape[0]:
        raise SystemExit(f"{len(x)} tiles, but {expected_path} has {expected.shape[0]} rows")
    name = s.get_inputs()[0].name
    outs = [s.run(None, {name: x[i : i + batch]})[0] for i in range(0, len(x), batch)]
    for o, i in zip(outs, range(0, len(x), batch)):
        if o.shape[0] != min(batch, len(x) - i):
            raise SystemExit(f"a batch of {min(batch, len(x) - i)} gave {o.shape[0]} rows")
    got = np.concatenate(outs)
    diff = float(np.max(np.abs(got - expected)))
    scale = float(np.max(np.abs(expected)))
    print(f"max_abs_diff {diff:.3g} max_abs_expected {scale:.3g} rows {len(got)} batch {batch} tol {tol}")
    if tol.endswith("r"):  # relative to the largest expected value
        return diff <= float(tol[:-1]) * scale
    return diff <= float(tol)


def frontend(model, wav, reference, mfcc=None):
    s = session(model)
    x = read_pcm16_mono(wav)[None]
    got = s.run(None, {s.get_inputs()[0].name: x})[0][0, 0].astype(np.float64)
    mel = np.load(reference).astype(np.float64)  # the reference mel, before the log
    if mel.ndim == 3:
        mel = mel[0]
    ref = np.log(mel + 1e-6)
    # reference_features_test.cpp's bound: the mel's float32 error (1e-4
    # relative, 1e-6 of the clip's largest mel value) through the log's
    # derivative, plus a few ulp of the float32 logarithm.
    bound = (1e-4 * mel + 1e-6 * mel.max()) / (mel + 1e-6) + 1e-6 * np.abs(ref)
    if mfcc is not None:
        # Each coefficient: the largest DCT weight, 2 / sqrt(2 n_mel), times
        # the sum of its frame's log bounds, plus its own float32 sum.
        ref = np.load(mfcc).astype(np.float64)
        if ref.ndim == 3:
            ref = ref[0]
        dct_max = 2.0 / np.sqrt(2.0 * mel.shape[1])
        bound = dct_max * bound.sum(axis=1, keepdims=True) + 1e-6 * np.abs(ref) + 1e-6
    if got.shape != ref.shape:
        raise SystemExit(f"features of shape {got.shape}, reference {ref.shape}")
    excess = float(np.max(np.abs(got - ref) - bound))
    diff = float(np.max(np.abs(got - ref)))
    print(f"max_abs_diff {diff:.3g} frames {ref.shape[0]} worst_margin {excess:.3g}")
    return excess <= 0


def main(argv):
    if len(argv) >= 6 and argv[1] == "embed":
        ok = embed(argv[2], argv[3], argv[4], int(argv[5]), argv[6:])
    elif len(argv) in (5, 6) and argv[1] == "frontend":
        ok = frontend(*argv[2:])
    else:
        raise SystemExit(__doc__)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
