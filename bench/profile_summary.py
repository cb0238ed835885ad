#!/usr/bin/python3
"""Sums a Chrome trace of `tessera bench step --profile` by operator name.

Prints each operator's self time (its duration less that of the operators
it called) and call count, largest first: where a step's time goes.
Usage: bench/profile_summary.py TRACE.json [ROWS]
"""
import json
import sys
from collections import defaultdict


def main():
    events = [e for e in json.load(open(sys.argv[1])) if e.get("ph") == "X"]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    by_thread = defaultdict(list)
    for e in events:
        by_thread[(e["pid"], e["tid"])].append(e)
    self_us, calls = defaultdict(float), defaultdict(int)
    total = 0.0
    for evs in by_thread.values():
        # Parents start no later and end no earlier than their children.
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []
        for e in evs:
            end = e["ts"] + e["dur"]
            while stack and stack[-1][1] < end - 1e-3:
                stack.pop()
            if stack:
                stack[-1][0]["child"] = stack[-1][0].get("child", 0.0) + e["dur"]
            else:
                total += e["dur"]
            stack.append((e, end))
        for e in evs:
            self_us[e["name"]] += e["dur"] - e.get("child", 0.0)
            calls[e["name"]] += 1
    print(f"{'operator':<48} {'self ms':>9} {'share':>6} {'calls':>6}")
    for name, us in sorted(self_us.items(), key=lambda kv: -kv[1])[:rows]:
        print(f"{name[:48]:<48} {us / 1e3:9.1f} {100 * us / total:5.1f}% {calls[name]:6d}")
    print(f"{'total (top-level operators)':<48} {total / 1e3:9.1f}")


if __name__ == "__main__":
    main()
