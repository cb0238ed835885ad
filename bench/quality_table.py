#!/usr/bin/env python3
"""The table of bench/quality.sh from its run folders.

Usage: quality_table.py WORK TOTAL_SECONDS THREADS ROW...

Each cell is the mean over seeds +- the half-width of its 95% Student-t
interval. MAP@R is the probe report's tile retrieval on the evaluation split
(no classifier involved); it does not depend on the number of labels.
"""
import json
import math
import os
import statistics
import sys

T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}

TITLES = {
    "logmel": ("log-mel statistics (per band mean and std, no network)", "-"),
    "random": ("untrained weights (the recommended network)", "-"),
    "study": ("the study's method (triplet, average pooling, linear head)", "a"),
    "pooling": ("+ time-statistics pooling alone", "a"),
    "head": ("+ MLP projection head alone", "a"),
    "augment": ("+ augmentation alone (mix-back, gain, masks)", "a"),
    "mixback": ("+ mix-back alone", "a"),
    "semi_hard": ("+ semi-hard mining alone", "a"),
    "nt_xent": ("+ NT-Xent loss alone", "a"),
    "standardise": ("+ dataset input standardisation alone", "a"),
    "recommended": ("recommended (`configs/real_audio.json`, 16 epochs)", "a"),
    "recommended_10": ("recommended at 10 epochs (the reference of the rows below)", "a"),
    "minus_pooling": ("recommended, average pooling instead", "a"),
    "minus_head": ("recommended, linear head instead", "a"),
    "minus_augment": ("recommended, no augmentation", "a"),
    "minus_nt_xent": ("recommended, triplet loss instead", "a"),
    "plus_standardise": ("recommended + dataset input standardisation", "a"),
    "pool_study": ("the study's method, pretrained on the pool", "b"),
    "pool_recommended": ("recommended, pretrained on the pool", "b"),
}


def interval(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, float("nan")
    half = T975.get(len(values) - 1, 1.96) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, half


def cell(iv):
    if iv is None:
        return "-"
    mean, half = iv
    return "%.3f" % mean if math.isnan(half) else "%.3f ± %.3f" % (mean, half)


def load(path):
    with open(path) as f:
        return json.load(f)


def scores(run_dirs, prefix):
    full, few, mapr, layer = [], [], [], ""
    for run in run_dirs:
        r0 = load(os.path.join(run, prefix + "_0", "report.json"))
        r2 = load(os.path.join(run, prefix + "_2", "report.json"))
        full.append(r0["eval"]["macro_f1"])
        few.append(r2["eval"]["macro_f1"])
        mapr.append(r0["eval"]["tile_retrieval"].get("map_at_r"))
        layer = r0.get("layer", "") if r0.get("representation") != "logmel-stats" else "-"
    return {"full": interval(full), "few": interval(few), "mapr": interval(mapr), "layer": layer,
            "seeds": len(run_dirs)}


def train_seconds(run_dirs):
    s = [load(os.path.join(r, "metrics", "timing.json"))["seconds"] for r in run_dirs]
    return statistics.fmean(s) if s else None


def main():
    work, total, threads = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    rows = sys.argv[4:]
    table = {}
    for name in rows:
        base = os.path.join(work, name)
        runs = sorted(os.path.join(base, d) for d in os.listdir(base)
                      if d.startswith("seed") and os.path.isdir(os.path.join(base, d)))
        table[name] = dict(scores(runs, "probe"), seconds=train_seconds(runs))
        if name == "recommended":
            table["logmel"] = dict(scores(runs, "logmel"), seconds=None, layer="-")
            table["random"] = dict(scores(runs, "random"), seconds=None)
    order = ["logmel", "random"] + rows
    print("| representation | regime | probe layer | full-label macro-F1 | 2 labels per class macro-F1 | tile MAP@R | train s |")
    print("|---|---|---|---|---|---|---|")
    for name in order:
        if name not in table:
            continue
        t = table[name]
        title, regime = TITLES.get(name, (name, "?"))
        secs = "-" if t["seconds"] is None else "%.0f" % t["seconds"]
        print("| %s | %s | %s | %s | %s | %s | %s |" % (title, regime, t["layer"], cell(t["full"]),
                                                      cell(t["few"]), cell(t["mapr"]), secs))
    seeds = max(t["seeds"] for t in table.values())
    print()
    print("Mean ± half-width of the 95%% t-interval over %d seeds; every row is the "
          "same logistic probe (`tessera classify`) on the same evaluation split. "
          "Regime a: trained on the labelled training split alone; b: pretrained on "
          "the unlabelled pool. Every trained row but the recommendation's own "
          "trains 10 epochs (bench/quality.sh). %s threads; the whole benchmark "
          "took %.0f min." %
          (seeds, threads, total / 60))
    if "logmel" in table:
        print()
        print("Against log-mel statistics (difference of means; 'apart' when the "
              "intervals do not overlap):")
        print()
        print("| row | Δ full-label F1 | Δ 2-per-class F1 | Δ MAP@R |")
        print("|---|---|---|---|")
        ref = table["logmel"]
        for name in rows:
            t = table[name]
            cols = []
            for key in ("full", "few", "mapr"):
                a, b = t[key], ref[key]
                if a is None or b is None:
                    cols.append("-")
                    continue
                apart = (a[0] - a[1] > b[0] + b[1]) or (a[0] + a[1] < b[0] - b[1])
                cols.append("%+.3f%s" % (a[0] - b[0], " apart" if apart else ""))
            print("| %s | %s |" % (TITLES.get(name, (name,))[0], " | ".join(cols)))


if __name__ == "__main__":
    main()
