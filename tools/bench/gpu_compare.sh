#!/usr/bin/env bash
# Runs on a GPU host (e.g. the device machine) in a Kiln checkout: unpacks bundles made by
# tools/bundle.sh --tar, makes the random-weight Llama-3.2-1B-shaped bf16 model (needs torch and
# transformers there), and for each bundle runs the decode and prefill benchmarks and one greedy
# generation (token ids to compare between builds); then the CUDA op suite with the last one.
#
#   tools/bench/gpu_compare.sh OUT_DIR NAME=BUNDLE.tar.xz [NAME=BUNDLE.tar.xz]...
#
# Writes OUT_DIR/NAME-{dec,pre,gen}.json, OUT_DIR/opsuite.txt, when the last bundle ships
# test_llama or test_devices_cuda_ptx OUT_DIR/test_llama.txt / test_cuda.txt (the cases that
# need the CPU plugin fail in a bundle without it), the last bundle's host split of a decode
# step (OUT_DIR/host-split.txt, KILN_DEBUG=1) and its graph's GPU time (OUT_DIR/graph.txt,
# KILN_DEBUG=2), and its per-kernel decode timings (OUT_DIR/eager-kernels.txt; with
# KILN_BENCH_NCU=1 also OUT_DIR/ncu.csv).
set -uo pipefail
[[ $# -ge 2 ]] || { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
out=$1; shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
model=${KILN_BENCH_MODEL:-/tmp/kiln-llama-1b-bf16}
[[ -d $model/hf ]] || python3 "$repo/tools/fixtures/llm/make_random_llama.py" --out "$model" --gguf '' \
  --tokenizer "$repo/tests/data/tokenizers/llama3" > "$out/make_model.log" 2>&1
ids=$(python3 -c "print(','.join(str(1000 + i * 37 % 50000) for i in range(128)))")
last=""
for spec in "$@"; do
  name=${spec%%=*} tarball=${spec#*=}
  mkdir -p "$work/$name" && tar xf "$tarball" -C "$work/$name" --strip-components=1
  kiln="$work/$name/kiln"
  "$kiln" bench llm --model "$model/hf" --device cuda --prompt-tokens 128 --decode-tokens 256 --no-peer --json > "$out/$name-dec.json" 2>&1
  "$kiln" bench llm --model "$model/hf" --device cuda --prompt-tokens 512 --decode-tokens 4 --no-peer --json > "$out/$name-pre.json" 2>&1
  "$kiln" generate --model "$model/hf" --device cuda --prompt-ids "$ids" --max-tokens 32 --ignore-eos --json > "$out/$name-gen.json" 2>&1
  last=$kiln
done
"$last" check-device cuda > "$out/opsuite.txt" 2>&1
tail -n 2 "$out/opsuite.txt"
# where a decode step's time goes on the host (forward = enqueue + wait, sample, text) and the
# graph's time on the GPU
KILN_DEBUG=1 "$last" generate --model "$model/hf" --device cuda --prompt-ids "$ids" --max-tokens 256 \
  --ignore-eos > /dev/null 2> "$work/debug1.txt"
grep '^generate:' "$work/debug1.txt" > "$out/host-split.txt"
KILN_DEBUG=2 "$last" generate --model "$model/hf" --device cuda --prompt-ids "$ids" --max-tokens 8 \
  --ignore-eos > /dev/null 2> "$work/debug2.txt"
grep 'graph of' "$work/debug2.txt" > "$out/graph.txt"
# the test binaries the last bundle ships (tools/bundle.sh --extra build/bin/test_llama ...): their
# fixture, plugin and kiln paths are compiled in under /work/main (tests/data, build/lib/kiln/
# plugins, build/bin/kiln), so those point into this checkout and the bundle
bundle=$(dirname "$last")
if [[ -x "$bundle/bin/test_llama" || -x "$bundle/bin/test_devices_cuda_ptx" ]]; then
  [[ -e /work/main ]] || { mkdir -p /work && ln -s "$repo" /work/main; }
  mkdir -p "$repo/build/bin" "$repo/build/lib/kiln"
  ln -sfn "$bundle/lib/kiln/plugins" "$repo/build/lib/kiln/plugins"
  printf '#!/bin/sh\nexec %s "$@"\n' "$last" > "$repo/build/bin/kiln"
  chmod +x "$repo/build/bin/kiln"
fi
if [[ -x "$bundle/bin/test_llama" ]]; then
  KILN_DEVICE=cuda "$bundle/run" test_llama > "$out/test_llama.txt" 2>&1
  tail -n 3 "$out/test_llama.txt"
fi
if [[ -x "$bundle/bin/test_devices_cuda_ptx" ]]; then
  "$bundle/run" test_devices_cuda_ptx > "$out/test_cuda.txt" 2>&1
  tail -n 3 "$out/test_cuda.txt"
fi
# where a decode step's GPU time goes, with the last bundle: CUDA-event times of each kernel of
# eager (un-captured) steps, and with KILN_BENCH_NCU=1 Nsight Compute's counters for one step
# (tools/bench/ncu_summary.py OUT_DIR/ncu.csv sums them by kernel)
KILN_LLAMA_NO_JIT=1 KILN_DEBUG=2 "$last" generate --model "$model/hf" --device cuda --prompt-ids "$ids" \
  --max-tokens 4 --ignore-eos --json > "$out/eager.json" 2> "$out/eager-kernels.txt"
if [[ ${KILN_BENCH_NCU:-0} == 1 ]] && command -v ncu > /dev/null; then
  KILN_LLAMA_NO_JIT=1 ncu --clock-control none --launch-skip 1200 --launch-count 160 --csv \
    --metrics gpu__time_duration.sum,dram__bytes_read.sum,lts__t_bytes.sum,sm__warps_active.avg.pct_of_peak_sustained_active,launch__registers_per_thread,launch__grid_size,launch__block_size \
    "$last" generate --model "$model/hf" --device cuda --prompt-ids "$ids" --max-tokens 12 --ignore-eos \
    > "$out/ncu.csv" 2> "$out/ncu.err"
fi
rm -rf "$work"
