#!/usr/bin/env python3
"""Sums a decode step's kernels by name from gpu_compare.sh's outputs.

  tools/bench/ncu_summary.py OUT_DIR/ncu.csv             Nsight Compute counters (--csv)
  tools/bench/ncu_summary.py OUT_DIR/eager-kernels.txt   KILN_DEBUG=2 CUDA-event times
  tools/bench/ncu_summary.py --prefill EAGER.txt          ... of the prompt's step

For each kernel name: launches, total and per-launch time, and (ncu) DRAM bytes read and the
bandwidth they make, L2 traffic and the launch shape. The eager log's last whole token step
(the one ending with the lm_head, r_128256...) is taken, or with --prefill a prompt's prefill
(`KILN_LLAMA_NO_JIT=1 KILN_DEBUG=2 kiln generate --prompt-ids ... --max-tokens 2`): the last
step with tensor-core kernels (`_mma`), else the one of the most kernels. (The load's warm-up
runs a decode step and a prefill without lm_head first, so the step the lm_heads delimit
there holds both: the longest step is not the prompt's on a GPU.)
"""
import collections
import csv
import re
import sys

SCALE = {"byte": 1, "Kbyte": 1e3, "Mbyte": 1e6, "Gbyte": 1e9, "nsecond": 1e-3, "usecond": 1, "msecond": 1e3}


def ncu(path):
    rows = list(csv.reader(open(path)))
    head = next(i for i, r in enumerate(rows) if r and r[0] == "ID")
    ix = {h: i for i, h in enumerate(rows[head])}
    kernels = collections.OrderedDict()
    for r in rows[head + 1:]:
        if len(r) < len(ix):
            continue
        key = (r[ix["ID"]], r[ix["Kernel Name"]])
        value = float(r[ix["Metric Value"]].replace(",", "") or 0) * SCALE.get(r[ix["Metric Unit"]], 1)
        kernels.setdefault(key, {})[r[ix["Metric Name"]]] = value
    by_name = collections.OrderedDict()
    for (_, name), m in kernels.items():
        a = by_name.setdefault(name, {"n": 0, "us": 0.0, "dram": 0.0, "l2": 0.0, "m": m})
        a["n"] += 1
        a["us"] += m.get("gpu__time_duration.sum", 0)
        a["dram"] += m.get("dram__bytes_read.sum", 0)
        a["l2"] += m.get("lts__t_bytes.sum", 0)
    total = sum(a["us"] for a in by_name.values())
    print(f"{len(kernels)} kernels, {total:.1f} us")
    for name, a in sorted(by_name.items(), key=lambda x: -x[1]["us"]):
        m = a["m"]
        print(f"{name[:36]:36s} n={a['n']:3d} {a['us']:9.1f} us ({a['us'] / a['n']:7.2f} each) "
              f"DRAM {a['dram'] / 1e6:8.2f} MB {a['dram'] / max(a['us'], 1e-9) / 1e3:6.0f} GB/s "
              f"L2 {a['l2'] / 1e6:8.2f} MB  grid {m.get('launch__grid_size', 0):.0f} "
              f"block {m.get('launch__block_size', 0):.0f} regs {m.get('launch__registers_per_thread', 0):.0f}")


def eager(path, prefill=False):
    step, steps = [], []
    for line in open(path):
        m = re.match(r"kiln: (\S+) [\d.]+ us gpu ([\d.]+) us grid (\S+)", line)
        if not m:
            continue
        step.append((m.group(1), float(m.group(2)), m.group(3)))
        if m.group(1).startswith(("r_128256", "r_1_128256")):
            steps.append(step)
            step = []
    if not steps:
        sys.exit(f"{path}: no whole token step (no lm_head kernel) found")
    by_name = collections.OrderedDict()
    if prefill:
        mma = [st for st in steps if any("_mma" in name for name, _, _ in st)]
        step = mma[-1] if mma else max(steps, key=len)
    else:
        step = steps[-1]
    for name, us, grid in step:
        a = by_name.setdefault(name, [0, 0.0, grid])
        a[0] += 1
        a[1] += us
    which = "the prompt's" if prefill else "the last"
    print(f"{len(steps)} token steps; {which}: {len(step)} kernels, {sum(u for _, u, _ in step):.1f} us")
    for name, (n, us, grid) in sorted(by_name.items(), key=lambda x: -x[1][1]):
        print(f"{name:32s} n={n:3d} {us:9.1f} us ({us / n:8.2f} each) grid {grid}")


if __name__ == "__main__":
    args = sys.argv[1:]
    prefill = "--prefill" in args
    args = [a for a in args if a != "--prefill"]
    if len(args) != 1:
        sys.exit(__doc__)
    if args[0].endswith(".csv"):
        ncu(args[0])
    else:
        eager(args[0], prefill=prefill)
