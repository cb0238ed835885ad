"""Builds Tessera's real-audio dev set from Debian game and sound-data packages.

Called by scripts/build_devset.sh, which downloads the packages and checks
them against packages.sha256. This script only reads the unpacked members,
finds recordings that share material, and writes:

  OUT/labelled/dcase/    DCASE layout: audio/*.wav, meta.txt, evaluation_setup/
  OUT/labelled/folders/  one folder per label, one file per source group
  OUT/pool/              the unlabelled pool: every other sound effect or ambience
  OUT/manifest.json      sources, groups, matches and durations

Labels come from the members' paths (LABEL_RULES); nobody listened to every
file. Near-copies are found by comparing spectrogram windows, never by name.
"""

import argparse
import hashlib
import json
import os
import re
import sys
import zipfile

import numpy as np
import soundfile as sf
import soxr

RATE = 16000
CLIP_S = 10.0
MIN_S = 2.5  # a 2 s tile and a little room
EVAL_SHARE = 0.3

# First match wins; a member no rule names goes to the pool when POOL_RULE
# matches it, and is dropped otherwise.
LABEL_RULES = [
    ("water", r"(ambience/water|waterfontain|water-(still|fast)|river_loop|cave_droplets|bubbles|misc/oceanwaves|env_sounds_water)"),
    ("fire", r"(ambience/(small)?fire|firesoft|open_fire|fire/sounds/fire_(fire|large|small))"),
    ("weather", r"(thunder|/rain|wind1|wind_loop|cave_wind|arcticwind|lightningbolt)"),
    ("bird", r"(stamps/animals/birds/|widelands/data/sound/animals/bird|bird_twitter|raven_loop|forest_owl|critters/duck|scorched3d/.*misc/birds[0-9])"),
    ("animal", r"(widelands/data/sound/animals/|stamps/animals/(mammals|marsupials|insects|amphibians|lizards)/|cricket_loop"
               r"|scorched3d/.*(misc/(frogs|cows|dog[0-9]|wolf|bats[0-9])|explosions/bees)|btanks/data/sounds/cow)"),
    ("engine", r"(flightgear/.*(engine|prop\.wav|turbine|jet|rotor)|torcs/data/sound/.*(engine|viper|944|935|ford|lamborghini|ferrari|porsche|alpha|mclaren|lotus|nsx|renault|f360|gt40|corolla|xj220|cleanviper|impreza|206)|ugv/.*move|stamps/vehicles/"
               r"|scorched3d/.*(misc/(cessna|helicopter|f16_|f18_|jet|apache|t38)|movement/tankmove)|searchandrescue/sounds/.*engine"
               r"|btanks/data/sounds/(helicopter|train)|lincity-ng/sounds/RailTrain)"),
    ("tools", r"widelands/data/sound/(atlanteans/saw|atlanteans/cutting|woodcutting|smiths|hammering|stonecutting|sawmill|metal|mill)|anvil_loop"),
    ("crowd", r"(etw/crowd/|etw/snd/crowd|SportsCroud|cheeringloop)"),
]
POOL_RULE = r"(sound|sounds|sfx|soundfx|Sounds|wav)/"
# Music, speech (voices, spoken descriptions, a match commentary) and symbols.
EXCLUDE = r"(music|Music|tunes/|/voices/|_desc|stamps/symbols/|etw/(arcadesnd|intro|snd/(?!crowd)))"


def die(msg):
    print("build_devset: " + msg, file=sys.stderr)
    sys.exit(1)


def label_of(member):
    for label, rx in LABEL_RULES:
        if re.search(rx, member):
            return label
    return None


def read_mono16k(path_or_file):
    data, rate = sf.read(path_or_file, dtype="float64", always_2d=True)
    mono = data.mean(axis=1)
    if rate != RATE:
        mono = soxr.resample(mono, rate, RATE, quality="HQ")
    return mono.astype(np.float32)


def members(unpacked):
    """(package, member path, reader) for every audio member, sorted."""
    out = []
    for package in sorted(os.listdir(unpacked)):
        root = os.path.join(unpacked, package)
        for dirpath, _, files in os.walk(root):
            for f in files:
                p = os.path.join(dirpath, f)
                rel = os.path.relpath(p, root)
                if f.endswith(".pk3"):  # a zip archive (UFO:AI)
                    with zipfile.ZipFile(p) as z:
                        for n in z.namelist():
                            if n.lower().endswith((".ogg", ".wav")):
                                out.append((package, rel + "/" + n, (p, n)))
                elif f.lower().endswith((".ogg", ".wav", ".flac")):
                    out.append((package, rel, (p, None)))
    return sorted(out, key=lambda m: (m[0], m[1]))


def decode(source):
    path, inner = source
    if inner is None:
        return read_mono16k(path)
    import io
    with zipfile.ZipFile(path) as z:
        return read_mono16k(io.BytesIO(z.read(inner)))


# --- near-copy search -------------------------------------------------------
N_FFT, HOP, BANDS, POOL, WIN = 512, 256, 24, 2, 32  # window = 32 pooled frames ~ 1 s


def band_matrix():
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / RATE)
    edges = np.geomspace(100.0, 7500.0, BANDS + 1)
    m = np.zeros((BANDS, len(freqs)), dtype=np.float32)
    for b in range(BANDS):
        m[b, (freqs >= edges[b]) & (freqs < edges[b + 1])] = 1.0
    return m


BAND = band_matrix()


def fingerprint_frames(x):
    if len(x) < N_FFT:
        return np.zeros((0, BANDS), dtype=np.float32)
    n = 1 + (len(x) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(N_FFT), axis=1)) ** 2
    bands = np.log(spec @ BAND.T + 1e-12)
    # 60 dB below the recording's loudest band: silence and dither all read
    # as the same floor.
    bands = np.maximum(bands, bands.max() - 13.8)
    n2 = n // POOL
    return bands[: n2 * POOL].reshape(n2, POOL, BANDS).mean(axis=1)


def windows(frames, hop):
    """Unit vectors of each window's band energies less their per-band and
    per-frame means: what stays is the material's fine structure, not its
    spectral envelope, its level or its loudness contour (an onset after
    silence looks alike in any two sounds), so two rain recordings do not
    match but a loop and its copy at another gain do. Windows with silence
    or too little structure are left out."""
    out, starts = [], []
    floor = frames.min() if len(frames) else 0.0
    for s in range(0, len(frames) - WIN + 1, hop):
        w = frames[s : s + WIN]
        if np.mean(w.max(axis=1) <= floor + 1e-3) > 0.1:
            continue
        w = w - w.mean(axis=0, keepdims=True)
        w = w - w.mean(axis=1, keepdims=True)
        norm = np.linalg.norm(w)
        if norm / np.sqrt(w.size) < 0.5:
            continue
        out.append((w / norm).ravel())
        starts.append(s)
    return np.array(out, dtype=np.float32).reshape(-1, WIN * BANDS), starts


def find_matches(items, threshold):
    """Pairs (i, j, cosine) of items sharing a ~1 s window. Sparse windows of
    labelled items (every 0.5 s) against dense windows of all items (every
    pooled frame), so shared material of 1.5 s or more is found whatever its
    offset."""
    dense, owner = [], []
    sparse, sparse_owner = [], []
    for i, it in enumerate(items):
        fr = fingerprint_frames(it["audio"])
        d, _ = windows(fr, 1)
        dense.append(d)
        owner += [i] * len(d)
        if it["label"] is not None:
            s, _ = windows(fr, WIN // 2)
            sparse.append(s)
            sparse_owner += [i] * len(s)
    dense = np.concatenate(dense)
    sparse = np.concatenate(sparse)
    owner = np.array(owner)
    sparse_owner = np.array(sparse_owner)
    best = {}
    for start in range(0, len(sparse), 512):
        sims = sparse[start : start + 512] @ dense.T
        for r in range(sims.shape[0]):
            a = sparse_owner[start + r]
            row = sims[r]
            hits = np.nonzero((row > threshold) & (owner != a))[0]
            for h in hits:
                b = int(owner[h])
                key = (min(a, b), max(a, b))
                best[key] = max(best.get(key, 0.0), float(row[h]))
    return sorted((a, b, c) for (a, b), c in best.items())


class Groups:
    def __init__(self, n):
        self.parent = list(range(n))

    def find(self, i):
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def clips_of(x):
    """10 s clips: consecutive cuts of a long recording; a shorter one (or a
    tail of at least half a clip) is repeated to length, since most game
    sounds are loops or single events."""
    n = int(CLIP_S * RATE)
    out = []
    for s in range(0, len(x), n):
        piece = x[s : s + n]
        if len(piece) == n:
            out.append(piece)
        elif s == 0 or len(piece) >= n // 2:
            reps = int(np.ceil(n / len(piece)))
            out.append(np.tile(piece, reps)[:n])
    return out


def write_wav(path, x):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 1.0:
        x = x / peak
    sf.write(path, x, RATE, subtype="PCM_16", format="WAV")


def slug(member):
    s = re.sub(r"[^A-Za-z0-9]+", "_", os.path.splitext(member)[0]).strip("_")
    return s[-60:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("unpacked")
    ap.add_argument("out")
    ap.add_argument("--threshold", type=float, default=0.8)
    args = ap.parse_args()

    items, seen = [], {}
    dropped = {"short": 0, "exact_copy": 0, "undecodable": 0}
    for package, member, source in members(args.unpacked):
        if re.search(EXCLUDE, member):
            continue
        label = label_of(member)
        if label is None and not re.search(POOL_RULE, member):
            continue
        try:
            x = decode(source)
        except Exception:
            dropped["undecodable"] += 1
            continue
        if len(x) < MIN_S * RATE:
            dropped["short"] += 1
            continue
        digest = hashlib.sha256(x.tobytes()).hexdigest()
        if digest in seen:  # a byte-identical decode: one copy is enough
            dropped["exact_copy"] += 1
            first = items[seen[digest]]
            if first["label"] is None and label is not None:
                first["label"] = label
            continue
        seen[digest] = len(items)
        items.append({"package": package, "member": member, "label": label, "audio": x})

    matches = find_matches(items, args.threshold)
    groups = Groups(len(items))
    for a, b, _ in matches:
        groups.join(a, b)
    # A pool item that shares material with a labelled one leaves the pool,
    # so pretraining never sees an evaluation clip's material.
    labelled_roots = {groups.find(i) for i, it in enumerate(items) if it["label"]}
    for i, it in enumerate(items):
        if it["label"] is None and groups.find(i) in labelled_roots:
            it["drop"] = "shares material with a labelled recording"
    for i, it in enumerate(items):
        if it["label"] is None:
            continue
        labels = {items[j]["label"] for j in range(len(items)) if groups.find(j) == groups.find(i) and items[j]["label"]}
        if len(labels) > 1:
            die("material shared across labels %s: %s" % (sorted(labels), it["member"]))

    # Split whole groups: per label, groups in an order fixed by their names'
    # hash go to evaluation until it holds EVAL_SHARE of the label's audio.
    by_label = {}
    for i, it in enumerate(items):
        if it["label"]:
            by_label.setdefault(it["label"], {}).setdefault(groups.find(i), []).append(i)
    split = {}
    for label, gs in sorted(by_label.items()):
        order = sorted(gs, key=lambda g: hashlib.sha256(items[g]["member"].encode()).hexdigest())
        total = sum(len(items[i]["audio"]) for g in gs for i in gs[g])
        held = 0
        for g in order:
            ev = held < EVAL_SHARE * total and g != order[-1]
            if ev:
                held += sum(len(items[i]["audio"]) for i in gs[g])
            split[g] = "evaluate" if ev else "train"

    out = args.out
    dc = os.path.join(out, "labelled", "dcase")
    lists = {"train": [], "evaluate": []}
    meta, manifest_items = [], []
    seconds = {"labelled_source": 0.0, "labelled_clips": 0.0, "pool": 0.0}
    for i, it in enumerate(items):
        entry = {"package": it["package"], "member": it["member"], "label": it["label"],
                 "group": items[groups.find(i)]["member"], "seconds": round(len(it["audio"]) / RATE, 3)}
        if it["label"]:
            g = groups.find(i)
            entry["split"] = split[g]
            name = "%s_%s" % (it["label"], slug(it["package"] + "_" + it["member"]))
            for k, clip in enumerate(clips_of(it["audio"])):
                rel = "audio/%s_%02d.wav" % (name, k)
                write_wav(os.path.join(dc, rel), clip)
                group_name = slug(items[g]["member"])
                lists[split[g]].append("%s\t%s\t%s" % (rel, it["label"], group_name))
                meta.append("%s\t%s\t%s" % (rel, it["label"], group_name))
                seconds["labelled_clips"] += CLIP_S
            seconds["labelled_source"] += len(it["audio"]) / RATE
        elif "drop" not in it:
            write_wav(os.path.join(out, "pool", it["package"], slug(it["member"]) + ".wav"), it["audio"])
            seconds["pool"] += len(it["audio"]) / RATE
        else:
            entry["dropped"] = it["drop"]
        manifest_items.append(entry)
    # The folder layout: one file per source group, its members end to end,
    # so no split a reader draws can separate shared material.
    for label, gs in sorted(by_label.items()):
        for g, idx in sorted(gs.items()):
            x = np.concatenate([items[i]["audio"] for i in sorted(idx)])
            write_wav(os.path.join(out, "labelled", "folders", label, slug(items[g]["member"]) + ".wav"), x)
    os.makedirs(os.path.join(dc, "evaluation_setup"), exist_ok=True)
    for name, rows in lists.items():
        with open(os.path.join(dc, "evaluation_setup", "fold1_%s.txt" % name), "w") as f:
            f.write("".join(r + "\n" for r in sorted(rows)))
    with open(os.path.join(dc, "meta.txt"), "w") as f:
        f.write("".join(r + "\n" for r in sorted(meta)))

    summary = {
        "labels": sorted(by_label),
        "recordings": {l: sum(len(v) for v in gs.values()) for l, gs in sorted(by_label.items())},
        "groups": {l: len(gs) for l, gs in sorted(by_label.items())},
        "clips": {s: len(r) for s, r in lists.items()},
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "pool_recordings": sum(1 for it in items if it["label"] is None and "drop" not in it),
        "dropped": dropped,
        "match_threshold": args.threshold,
        "matches": [{"a": items[a]["member"], "b": items[b]["member"], "cosine": round(c, 3)} for a, b, c in matches],
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"summary": summary, "items": manifest_items}, f, indent=1, sort_keys=True)
        f.write("\n")
    s = dict(summary)
    s.pop("matches")
    print(json.dumps(s, indent=1))
    print("matches: %d pairs" % len(matches))


if __name__ == "__main__":
    main()
