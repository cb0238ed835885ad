#!/usr/bin/env python3
"""Reference log-mel and MFCC features that no Tessera code computed.

An independent implementation, in numpy and float64, of TensorFlow 2.1's
tf.signal front end as the study used it, written from TF's documented
formulas:
  - frames of `frame_length` samples every `frame_step` (pad_end=False:
    1 + (n - frame_length) // frame_step frames);
  - a periodic Hann window, w[n] = 0.5 - 0.5 cos(2 pi n / frame_length);
  - |rfft(frame * w, fft_length)|;
  - linear_to_mel_weight_matrix: HTK mel (1127 ln(1 + f / 700)); the
    spectrum bins' centre frequencies linspace(0, nyquist, bins) with the DC
    bin given zero weight; num_mel_bins + 2 edges equally spaced in mel from
    lower_edge_hertz to upper_edge_hertz; each band the triangle
    max(0, min(rising, falling)) of its three edges;
  - log(mel + 1e-6) (the study's extractor);
  - mfccs_from_log_mel_spectrograms: the unnormalised DCT-II,
    2 sum_n x[n] cos(pi k (2n + 1) / (2N)), times 1 / sqrt(2N), first 13.
Audio: 16-bit PCM as the integer / 32768, several channels mixed to mono by
their mean (Tessera's to_mono).

It writes, into tests/data/reference/ (or the folder given):
  <name>.wav            the input, made here from seeded numpy noise and tones
  <name>.mel.npy        [frames, 128] float32, the mel spectrogram before the log
  <name>.mfcc.npy       [frames, 13] float32
  features.json         each file's sample rate and frame parameters
Usage: scripts/make_reference_features.py [OUT_DIR]   (needs numpy)"""
import json
import os
import sys
import wave

import numpy as np

FRAME_LENGTH, FRAME_STEP, FFT_LENGTH = 480, 160, 1024
N_MEL, N_MFCC, LOWER_HZ, LOG_OFFSET = 128, 13, 50.0, 1e-6


def hertz_to_mel(f):
    return 1127.0 * np.log1p(np.asarray(f, dtype=np.float64) / 700.0)


def mel_matrix(rate):
    bins = FFT_LENGTH // 2 + 1
    nyquist = rate / 2.0
    freqs = np.linspace(0.0, nyquist, bins)[1:]  # the DC bin is left out
    spec_mel = hertz_to_mel(freqs)[:, None]
    edges = np.linspace(hertz_to_mel(LOWER_HZ), hertz_to_mel(nyquist), N_MEL + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (spec_mel - lower) / (centre - lower)
    falling = (upper - spec_mel) / (upper - centre)
    w = np.maximum(0.0, np.minimum(rising, falling))
    return np.vstack([np.zeros((1, N_MEL)), w])  # [bins, N_MEL], DC row zero


def features(mono, rate):
    n = len(mono)
    frames = 1 + (n - FRAME_LENGTH) // FRAME_STEP if n >= FRAME_LENGTH else 0
    idx = np.arange(FRAME_LENGTH)[None, :] + FRAME_STEP * np.arange(frames)[:, None]
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(FRAME_LENGTH) / FRAME_LENGTH)
    spectrum = np.abs(np.fft.rfft(mono[idx] * window, FFT_LENGTH))
    mel = spectrum @ mel_matrix(rate)
    log_mel = np.log(mel + LOG_OFFSET)
    k = np.arange(N_MEL)[:, None]
    m = np.arange(N_MEL)[None, :]
    dct = 2.0 * np.cos(np.pi * k * (2 * m + 1) / (2.0 * N_MEL))  # [k, n]
    mfcc = (log_mel @ dct.T) / np.sqrt(2.0 * N_MEL)
    return mel, mfcc[:, :N_MFCC]


def write_wav(path, rate, samples):
    """samples: [frames, channels] in [-1, 1); written as 16-bit PCM."""
    ints = np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(ints.tobytes())
    return ints.astype(np.float64) / 32768.0


def inputs():
    rng = np.random.default_rng(20261206)

    def t(rate, seconds):
        return np.arange(int(rate * seconds)) / rate

    out = []
    x = t(16000, 0.5)
    tone = 0.3 * np.sin(2 * np.pi * 440 * x) + 0.1 * np.sin(2 * np.pi * 3150 * x)
    out.append(("tones_16k_mono", 16000, (tone + 0.02 * rng.standard_normal(len(x)))[:, None]))
    x = t(22050, 0.4)
    chirp = 0.4 * np.sin(2 * np.pi * (200 * x + 4000 * x * x))
    noise = 0.05 * rng.standard_normal((len(x), 2))
    out.append(("chirp_22k_stereo", 22050, np.stack([chirp, 0.5 * chirp], 1) + noise))
    x = t(44100, 0.15)
    out.append(("noise_44k_4ch", 44100, 0.2 * rng.standard_normal((len(x), 4))))
    x = t(16000, 0.4)
    # A few least significant bits: near silence, where log(mel + 1e-6) is
    # dominated by the offset.
    out.append(("near_silent_16k", 16000, (3e-4 * rng.standard_normal(len(x)))[:, None]))
    x = t(8000, 0.6)
    loud = np.clip(2.5 * np.sin(2 * np.pi * 220 * x), -1.0, 32767 / 32768)
    out.append(("clipped_8k", 8000, loud[:, None]))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "data",
                                                                   "reference")
    os.makedirs(out_dir, exist_ok=True)
    index = {"frame_length": FRAME_LENGTH, "frame_step": FRAME_STEP, "fft_size": FFT_LENGTH,
             "n_mel_bin": N_MEL, "n_mfcc_bin": N_MFCC, "lower_edge_hz": LOWER_HZ,
             "log_offset": LOG_OFFSET, "files": {}}
    for name, rate, samples in inputs():
        pcm = write_wav(os.path.join(out_dir, name + ".wav"), rate, samples)
        mel, mfcc = features(pcm.mean(axis=1), rate)
        np.save(os.path.join(out_dir, name + ".mel.npy"), mel.astype("<f4"))
        np.save(os.path.join(out_dir, name + ".mfcc.npy"), mfcc.astype("<f4"))
        index["files"][name] = {"sample_rate": rate, "channels": samples.shape[1],
                                "frames": int(mel.shape[0])}
        print(f"{name}: {rate} Hz, {samples.shape[1]} channel(s), {mel.shape[0]} frames")
    with open(os.path.join(out_dir, "features.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
