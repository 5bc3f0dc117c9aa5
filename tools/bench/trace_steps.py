#!/usr/bin/env python3
"""Per-kernel costs of a decode step from an Nsight Systems GPU trace.

    nsys profile -o p --cuda-graph-trace=node --trace=cuda kiln generate ...
    nsys stats --report cuda_gpu_trace --format csv --output trace p.nsys-rep
    tools/bench/trace_steps.py trace_cuda_gpu_trace.csv [--gap-us 4] [--top 40]

Kernels are split into steps where the GPU idles longer than --gap-us between one kernel's end
and the next one's start (between graph replays); the steps of the most common length are the
decode steps. For each kernel of a step: its median duration and its median advance, the time
by which it moves the step's last end (with programmatic dependent launch kernels overlap, so
durations add up to more than the step; advances add up to the step exactly). Kernels are then
summed by name (layers share names), largest advance first.
"""
import argparse
import csv
import statistics
import sys
from collections import Counter, defaultdict


def load(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            start = next(v for k, v in r.items() if k.startswith("Start"))
            dur = next(v for k, v in r.items() if k.startswith("Duration"))
            name = r.get("Name", "")
            if not start or not dur or "[CUDA" in name:  # memcpy / memset rows
                continue
            rows.append((int(float(start)), int(float(dur)), name))
    rows.sort()
    return rows


def split_steps(rows, gap_ns):
    steps, cur, last_end = [], [], None
    for start, dur, name in rows:
        if cur and start - last_end > gap_ns:
            steps.append(cur)
            cur = []
            last_end = None
        cur.append((start, dur, name))
        last_end = start + dur if last_end is None else max(last_end, start + dur)
    if cur:
        steps.append(cur)
    return steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--gap-us", type=float, default=4.0)
    ap.add_argument("--top", type=int, default=40)
    a = ap.parse_args()
    steps = split_steps(load(a.csv), a.gap_us * 1000)
    n = Counter(len(s) for s in steps).most_common(1)[0][0]
    decode = [s for s in steps if len(s) == n]
    if not decode:
        sys.exit("no steps")
    spans, durs, advs = [], defaultdict(list), defaultdict(list)
    for s in decode:
        t0 = s[0][0]
        spans.append((max(st + d for st, d, _ in s) - t0) / 1000)
        end = t0
        for i, (st, d, _) in enumerate(s):
            durs[i].append(d / 1000)
            advs[i].append(max(0, st + d - end) / 1000)
            end = max(end, st + d)
    names = [k[2] for k in decode[0]]
    print(f"{len(decode)} steps of {n} kernels; step median {statistics.median(spans):.1f} us "
          f"(min {min(spans):.1f}, max {max(spans):.1f})")
    by_name = defaultdict(lambda: [0, 0.0, 0.0])
    for i, name in enumerate(names):
        e = by_name[name]
        e[0] += 1
        e[1] += statistics.median(durs[i])
        e[2] += statistics.median(advs[i])
    print(f"{'kernel':60s} {'n':>4s} {'dur us':>9s} {'advance us':>11s}")
    for name, (cnt, d, adv) in sorted(by_name.items(), key=lambda x: -x[1][2])[: a.top]:
        print(f"{name[:60]:60s} {cnt:4d} {d:9.1f} {adv:11.1f}")
    print("\nfirst layer, in order (median dur / advance, us):")
    for i in range(min(n, 12)):
        print(f"  {i:3d} {names[i][:60]:60s} {statistics.median(durs[i]):7.2f} "
              f"{statistics.median(advs[i]):7.2f}")


if __name__ == "__main__":
    main()
