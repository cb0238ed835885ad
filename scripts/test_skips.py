#!/usr/bin/env python3
"""Counts the tests ctest skipped, by reason, and fails on any skip that was
not expected. A skip is expected only for a test with one of the given
labels: by default `gpu` (tests that need a CUDA device) and the `-simd`
labels (tests that compare SIMD variants, where only the baseline runs). A test that cannot
run says why with GTEST_SKIP() << reason; this prints that reason.

Usage: scripts/test_skips.py BUILD_DIR JUNIT_XML [--expected-label L ...]
(JUNIT_XML is what `ctest --output-junit` wrote.)"""
import argparse
import collections
import re
import subprocess
import sys
import xml.etree.ElementTree as ET


def labelled(build_dir, label):
    out = subprocess.run(["ctest", "-N", "-L", "^" + label + "$"], cwd=build_dir,
                         capture_output=True, text=True, check=True).stdout
    return {m.group(1) for m in re.finditer(r"Test\s+#\d+: (\S+)", out)}


def reason(output):
    # gtest prints "file:line: Skipped" and then the streamed message.
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.endswith(": Skipped"):
            text = lines[i + 1].strip() if i + 1 < len(lines) else ""
            return text if text and not text.startswith("[") else "(no reason given)"
    return "(not a GTEST_SKIP: " + (output.strip().splitlines() or ["no output"])[-1] + ")"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("build_dir")
    p.add_argument("junit")
    p.add_argument("--expected-label", action="append", default=None)
    a = p.parse_args()
    expected_labels = a.expected_label or ["gpu", "fast-simd", "fast-core-simd"]
    expected = set()
    for label in expected_labels:
        expected |= labelled(a.build_dir, label)
    skipped = collections.defaultdict(list)
    unexpected = []
    total = 0
    for case in ET.parse(a.junit).getroot().iter("testcase"):
        total += 1
        if case.get("status") != "notrun" and case.find("skipped") is None:
            continue
        name = case.get("name")
        why = reason(case.findtext("system-out") or "")
        skipped[why].append(name)
        if name not in expected:
            unexpected.append((name, why))
    n = sum(len(v) for v in skipped.values())
    print(f"skipped: {n} of {total} tests")
    for why, names in sorted(skipped.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(names):4d}  {why}")
    if unexpected:
        print(f"error: {len(unexpected)} test(s) skipped without a label that allows it "
              f"({', '.join(expected_labels)}):", file=sys.stderr)
        for name, why in unexpected:
            print(f"  {name}: {why}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
