#!/usr/bin/python3
"""The peer of `tessera bench features`: the same log-mel through torch/torchaudio.

Identical parameters: 16 kHz, periodic Hann of 480 zero-padded to a 1024 FFT,
step 160, no centre padding (TF's pad_end=False), |STFT|, an HTK mel
filterbank of 128 bands from 50 Hz to 8 kHz without normalisation, log(x+1e-6).
With --with-decode it also decodes 44.1 kHz 4-channel WAVs, mixes to mono and
resamples, as Tessera does. The last line matches Tessera's format.
"""
import argparse
import math
import os
import tempfile
import time

import soundfile
import torch
import torchaudio


def make_clip(rate, channels, seconds, seed):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(rate * seconds), dtype=torch.float64) / rate
    tone = 0.3 * (torch.sin(2 * math.pi * 440 * t) + 0.5 * torch.sin(2 * math.pi * 1320 * t))
    x = tone.float().repeat(channels, 1)
    return x + 0.05 * torch.randn(x.shape, generator=g)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--with-decode", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    window = torch.hann_window(480, periodic=True)
    fb = torchaudio.functional.melscale_fbanks(513, 50.0, 8000.0, 128, 16000, None, "htk")

    def logmel(x):
        # torch.stft would centre a 480 window inside 1024-sample frames;
        # TF frames 480 samples and zero-pads them at the end, so do that.
        frames = x.unfold(-1, 480, 160) * window
        spec = torch.fft.rfft(frames, n=1024).abs()
        return torch.log(torch.matmul(spec, fb) + 1e-6)

    distinct = min(args.clips, 8)
    tmp = None
    if args.with_decode:
        tmp = tempfile.TemporaryDirectory()
        files = []
        for i in range(distinct):
            path = os.path.join(tmp.name, f"clip{i}.wav")
            soundfile.write(path, make_clip(44100, 4, 10.0, i).clamp(-1, 1).T.numpy(), 44100,
                            subtype="PCM_16")
            files.append(path)

        def work(i):
            data, rate = soundfile.read(files[i % distinct], dtype="float32", always_2d=True)
            x = torch.from_numpy(data).mean(1)
            x = torchaudio.functional.resample(x, rate, 16000)
            return logmel(x)
    else:
        clips = [make_clip(16000, 1, 10.0, i)[0] for i in range(distinct)]

        def work(i):
            return logmel(clips[i % distinct])

    with torch.no_grad():
        for i in range(min(args.clips, 4)):
            work(i)
        t0 = time.perf_counter()
        for i in range(args.clips):
            out = work(i)
        secs = time.perf_counter() - t0
    assert out.shape == (998, 128), out.shape
    print(f"features: clips={args.clips} threads={args.threads} with_decode={int(args.with_decode)} "
          f"clips_per_s={args.clips / secs:.1f} ms_per_clip={1000 * secs / args.clips:.3f}")


if __name__ == "__main__":
    main()
