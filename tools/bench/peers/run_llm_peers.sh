#!/bin/sh
# Runs the LLM peers (llama.cpp, tinygrad) on the random Llama-3.2-1B-shape model's GGUF files,
# one JSON line per (peer, file), into $OUT (default: stdout).
#   tools/bench/peers/run_llm_peers.sh [MODEL_DIR] [THREADS] [PROMPT_TOKENS] [NEW_TOKENS]
# MODEL_DIR defaults to /work/models/llama-1b-random (made by tools/fixtures/llm/make_random_llama.py).
set -e
dir=${1:-/work/models/llama-1b-random}
threads=${2:-2}
prompt=${3:-512}
new=${4:-64}
py=${PYTHON:-/work/venv/bin/python}
here=$(dirname "$0")
peers=${PEERS:-"llamacpp tinygrad"}
for type in f16 q8_0 q4_0; do
  f="$dir/model-$type.gguf"
  [ -f "$f" ] || { echo "skipping $f (missing)" >&2; continue; }
  for peer in $peers; do
    echo "== $peer $type (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    "$py" "$here/${peer}_peer.py" --model "$f" --threads "$threads" --prompt-tokens "$prompt" --new-tokens "$new"
  done
done
