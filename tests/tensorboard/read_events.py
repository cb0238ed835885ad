#!/usr/bin/env python3
"""Reads a Tessera run's TensorBoard files with TensorBoard's own reader
(EventAccumulator, from the tensorboard package on PyPI) and checks them
against the run's CSV metrics. Prints one line per check; exits 1 on the
first mismatch.

  read_events.py RUN_DIR            the finished run: every step and epoch
  read_events.py RUN_DIR --partial  a run killed mid-way: whatever was
                                    written reads back, as a prefix of the CSV
  read_events.py RUN_DIR --torn     also cut bytes off the newest event file's
                                    end (a copy of it) and read it again
"""
import argparse
import csv
import math
import os
import shutil
import sys
import tempfile

from google.protobuf import text_format
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.projector import projector_config_pb2

STEP_TAGS = {
    "train/loss": "loss",
    "train/triplet_loss": "triplet_loss",
    "train/active_fraction": "active_fraction",
    "train/dist_neighbour": "dist_neighbour",
    "train/dist_opposite": "dist_opposite",
    "train/lr": "lr",
}


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def read_csv(path):
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def load(logdir):
    ea = EventAccumulator(logdir, size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    ea.Reload()
    return ea


def close(a, b):
    # Event values are float32; the CSV holds the double they came from.
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-30) or (math.isnan(a) and math.isnan(b))


def check_no_duplicate_steps(ea):
    for tag in ea.Tags()["scalars"]:
        steps = [e.step for e in ea.Scalars(tag)]
        if steps != sorted(set(steps)):
            fail(f"{tag}: steps repeat or go back: {steps[:20]}...")
    print("ok: no scalar tag repeats a step")


def check_steps(ea, rows, partial):
    for tag, column in STEP_TAGS.items():
        if tag not in ea.Tags()["scalars"]:
            fail(f"no scalar tag {tag} (tags: {sorted(ea.Tags()['scalars'])})")
        events = ea.Scalars(tag)
        if partial:
            if not events or len(events) > len(rows):
                fail(f"{tag}: {len(events)} events for {len(rows)} CSV rows")
            rows = rows[: len(events)]
        elif len(events) != len(rows):
            fail(f"{tag}: {len(events)} events, train_steps.csv has {len(rows)} rows")
        for e, row in zip(events, rows):
            if e.step != int(row["step"]) or not close(e.value, row[column]):
                fail(f"{tag} at step {e.step}: {e.value}, train_steps.csv step {int(row['step'])}: {row[column]}")
    print(f"ok: {len(STEP_TAGS)} step tags match train_steps.csv over {len(rows)} steps")


def check_epochs(ea, steps, epochs, run):
    last_step = {}
    for row in steps:
        last_step[int(row["epoch"])] = int(row["step"])
    columns = [c for c in epochs[0].keys() if c != "epoch"]
    for column in columns:
        events = ea.Scalars("epoch/" + column)
        if len(events) != len(epochs):
            fail(f"epoch/{column}: {len(events)} events for {len(epochs)} epochs")
        for e, row in zip(events, epochs):
            if e.step != last_step[int(row["epoch"])] or not close(e.value, row[column]):
                fail(f"epoch/{column} at step {e.step}: {e.value}, epochs.csv: {row[column]}")
    print(f"ok: {len(columns)} epoch tags match epochs.csv over {len(epochs)} epochs")

    images = ea.Images("eval/centroid_distances")
    with open(os.path.join(run, "eval", "epoch_1", "centroid_distances.csv")) as f:
        labels = len(f.readline().strip().split(",")) - 1
    if len(images) != len(epochs):
        fail(f"{len(images)} centroid images for {len(epochs)} epochs")
    for im in images:
        if im.width != labels * 24 or im.height != labels * 24:
            fail(f"centroid image {im.width}x{im.height}, want {labels * 24} square")
        if not im.encoded_image_string.startswith(b"\x89PNG"):
            fail("centroid image is not a PNG")
    print(f"ok: {len(images)} centroid images of {labels}x{labels} cells")

    config = ea.Tensors("config")
    if len(config) != 1 or not config[0].tensor_proto.string_val[0].startswith(b"```json"):
        fail("no config text")
    print("ok: the config is a text summary")


def check_projector(logdir, epochs):
    path = os.path.join(logdir, "projector_config.pbtxt")
    config = projector_config_pb2.ProjectorConfig()
    with open(path) as f:
        text_format.Parse(f.read(), config)
    if len(config.embeddings) != len(epochs):
        fail(f"projector lists {len(config.embeddings)} embeddings for {len(epochs)} epochs")
    for e in config.embeddings:
        with open(os.path.join(logdir, e.tensor_path)) as f:
            points = sum(1 for _ in f)
        with open(os.path.join(logdir, e.metadata_path)) as f:
            meta = f.read().splitlines()
        if meta[0] != "label\tfile\ttile_start":
            fail(f"{e.metadata_path}: header {meta[0]!r}")
        if len(meta) - 1 != points or points == 0:
            fail(f"{e.tensor_name}: {points} points, {len(meta) - 1} metadata rows")
    print(f"ok: the projector lists {len(config.embeddings)} epochs with their metadata")


def check_torn(logdir, steps):
    files = sorted(f for f in os.listdir(logdir) if "tfevents" in f)
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            shutil.copy(os.path.join(logdir, f), tmp)
        newest = os.path.join(tmp, files[-1])
        size = os.path.getsize(newest)
        with open(newest, "r+b") as f:
            f.truncate(size - 7)
        ea = load(tmp)
        check_steps(ea, steps, partial=True)
    print("ok: a torn last record leaves the records before it readable")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--partial", action="store_true")
    ap.add_argument("--torn", action="store_true")
    args = ap.parse_args()
    logdir = os.path.join(args.run, "tensorboard")
    steps = read_csv(os.path.join(args.run, "metrics", "train_steps.csv"))
    ea = load(logdir)
    check_no_duplicate_steps(ea)
    check_steps(ea, steps, args.partial)
    if args.torn:
        check_torn(logdir, steps)
    if not args.partial:
        epochs = read_csv(os.path.join(args.run, "metrics", "epochs.csv"))
        check_epochs(ea, steps, epochs, args.run)
        check_projector(logdir, epochs)


if __name__ == "__main__":
    main()
