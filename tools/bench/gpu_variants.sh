#!/usr/bin/env bash
# Runs on a GPU host in a Kiln checkout: one bundle (tools/bundle.sh --tar) under several
# environment variants, side by side in one call, on the random-weight Llama-3.2-1B-shaped bf16
# model (made here when missing; needs torch and transformers). Per variant: the decode graph's
# GPU time (KILN_DEBUG=2), decode tok/s (128-token prompt, 256 new), prefill tok/s (512) and the
# greedy tokens after both prompts (to compare variants). Results go into OUT_DIR/res.tgz after
# every variant (a device call brings back few files, and a call cut short keeps what ran) and a
# table on stdout.
#
#   tools/bench/gpu_variants.sh OUT_DIR BUNDLE.tar.xz NAME[:ENV=V[,ENV=V]...]...
#
# e.g. tools/bench/gpu_variants.sh $OUT kiln.tar.xz base new:KILN_CUDA_PREFETCH=1
# KILN_BENCH_MODEL: the model directory (default /tmp/kiln-llama-1b-bf16); KILN_BENCH_DEVICE:
# the device (default cuda; cpu needs a bundle made with --with-cpu); KILN_BENCH_TIMEOUT: seconds
# a command may take (default 60); KILN_BENCH_PREFILL_ONLY=1: only the prefill figure and the
# tokens after 512 (for GEMM variants); KILN_BENCH_KERNELS=1: also each variant's per-kernel
# times of an eager 512-token prefill (NAME-prefill-kernels.txt, ncu_summary.py --prefill);
# KILN_BENCH_CHECK="FAMILY..." first runs those op-suite families (`kiln check-device`; `all`:
# the whole suite; each also forced staged: KILN_MMA_STAGED=2) and, when the bundle has it,
# test_llama on the device;
# KILN_BENCH_ROUNDS=N: the decode and prefill figures are the best of N runs (`kiln bench llm
# --rounds N`; best of 3 repeats within 0.2% on an H100, single runs within ±3%);
# KILN_BENCH_STAMPS=1: also each variant's per-kernel timeline of 64 decode steps inside the
# graph (KILN_CUDA_STAMPS=1, docs/plugins.md) in NAME-stamps.txt
set -uo pipefail
[[ $# -ge 3 ]] || { sed -n '2,/^set -uo/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
out=$1 tarball=$2; shift 2
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
res=$work/res
mkdir -p "$res" "$out"
model=${KILN_BENCH_MODEL:-/tmp/kiln-llama-1b-bf16}
device=${KILN_BENCH_DEVICE:-cuda}
[[ -d $model/hf ]] || python3 "$repo/tools/fixtures/llm/make_random_llama.py" --out "$model" --gguf '' \
  --tokenizer "$repo/tests/data/tokenizers/llama3" > "$res/make_model.log" 2>&1
tar xf "$tarball" -C "$work" --strip-components=1
kiln=$work/kiln
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$res/gpu.txt" 2>&1
ids=$(python3 -c "print(','.join(str(1000 + i * 37 % 50000) for i in range(128)))")
ids512=$(python3 -c "print(','.join(str(1000 + i * 37 % 50000) for i in range(512)))")
field() { python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['kiln'][sys.argv[2]], 1))" "$@" 2>/dev/null || echo -; }
for family in ${KILN_BENCH_CHECK:-}; do
  only=(--family "$family")
  [[ $family == all ]] && only=()  # the whole suite
  for staged in 0 2; do
    KILN_MMA_STAGED=$staged timeout 300 "$kiln" check-device "$device" "${only[@]}" \
      > "$res/check-$family-staged$staged.txt" 2>&1
    echo "check $family (KILN_MMA_STAGED=$staged): $(tail -n 1 "$res/check-$family-staged$staged.txt")"
  done
done
if [[ -n ${KILN_BENCH_CHECK:-} && -x $work/bin/test_llama ]]; then
  # (test binaries name their data by the build machine's checkout path, /work/main here)
  [[ -e /work/main ]] || { mkdir -p /work && ln -s "$repo" /work/main; } 2> /dev/null
  KILN_DEVICE=$device timeout 300 "$work/run" test_llama > "$res/test_llama.txt" 2>&1
  echo "test_llama: $(grep -E 'test cases|All tests passed' "$res/test_llama.txt" | tail -n 1)"
fi
[[ -n ${KILN_BENCH_CHECK:-} ]] && tar czf "$out/res.tgz" -C "$res" .
printf '%-20s %12s %12s %12s\n' variant graph_us decode_tok_s prefill_tok_s
for spec in "$@"; do
  name=${spec%%:*} envs=()
  [[ $spec == *:* ]] && IFS=, read -r -a envs <<< "${spec#*:}"
  run() { env "${envs[@]}" timeout "${KILN_BENCH_TIMEOUT:-60}" "$kiln" "$@"; }
  graph=
  if [[ ${KILN_BENCH_PREFILL_ONLY:-0} != 1 ]]; then
    KILN_DEBUG=2 run generate --model "$model/hf" --device "$device" --prompt-ids "$ids" --max-tokens 32 \
      --ignore-eos --json > "$res/$name-gen128.json" 2> "$res/$name-debug2.txt"
    graph=$(grep 'graph of' "$res/$name-debug2.txt" | tail -n 1 | sed -n 's/.*: \([0-9.]*\) us on the GPU.*/\1/p')
    run bench llm --model "$model/hf" --device "$device" --prompt-tokens 128 --decode-tokens 256 --no-peer \
      --rounds "${KILN_BENCH_ROUNDS:-1}" --json > "$res/$name-dec.json" 2>&1
  fi
  run bench llm --model "$model/hf" --device "$device" --prompt-tokens 512 --decode-tokens 4 --no-peer \
    --rounds "${KILN_BENCH_ROUNDS:-1}" --json > "$res/$name-pre.json" 2>&1
  run generate --model "$model/hf" --device "$device" --prompt-ids "$ids512" --max-tokens 8 --ignore-eos \
    --json > "$res/$name-gen512.json" 2>&1
  if [[ ${KILN_BENCH_STAMPS:-0} == 1 ]]; then
    KILN_CUDA_STAMPS=1 run generate --model "$model/hf" --device "$device" --prompt-ids "$ids" --max-tokens 64 \
      --ignore-eos > /dev/null 2> "$res/$name-stamps.txt"
  fi
  if [[ ${KILN_BENCH_KERNELS:-0} == 1 ]]; then
    KILN_LLAMA_NO_JIT=1 KILN_DEBUG=2 run generate --model "$model/hf" --device "$device" --prompt-ids "$ids512" \
      --max-tokens 2 --ignore-eos > /dev/null 2> "$res/$name-prefill-eager.txt"
    python3 "$repo/tools/bench/ncu_summary.py" --prefill "$res/$name-prefill-eager.txt" \
      > "$res/$name-prefill-kernels.txt" 2>&1
  fi
  printf '%-20s %12s %12s %12s\n' "$name" "${graph:--}" "$(field "$res/$name-dec.json" decode_tok_s)" \
    "$(field "$res/$name-pre.json" prefill_tok_s)" | tee -a "$res/table.txt"
  tar czf "$out/res.tgz" -C "$res" .
done
rm -rf "$work"
