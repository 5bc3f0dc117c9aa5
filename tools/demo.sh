#!/usr/bin/env bash
# `make demo`: the supervisor on configs/default.yaml, and a chat answer streamed through the
# client, as a user would run them:  kiln run  /  kiln client stream.
set -euo pipefail
cd "$(dirname "$0")/.."
KILN=build/bin/kiln
echo "Kiln demo"
echo "========="
echo "NOTE: the real default model (Llama family) has not landed yet. configs/default.yaml"
echo "serves Kiln's deterministic TEST model plugin (tests/process/testmodel), which answers"
echo "'echo: <your message>' token by token. Everything else is real: the supervisor, an"
echo "isolated runner process loading the model plugin, ZeroMQ + MessagePack, streaming."
echo

LOG=$(mktemp /tmp/kiln-demo-XXXXXX.log)
"$KILN" run --config configs/default.yaml > "$LOG" 2>&1 &
SUPERVISOR=$!
trap 'kill -INT $SUPERVISOR 2>/dev/null || true; wait $SUPERVISOR 2>/dev/null || true; rm -f "$LOG"' EXIT

echo "\$ kiln run --config configs/default.yaml &"
for _ in $(seq 100); do
  if "$KILN" client health --timeout 0.2 > /dev/null 2>&1; then break; fi
  if ! kill -0 $SUPERVISOR 2>/dev/null; then cat "$LOG"; echo "demo: the supervisor did not start"; exit 1; fi
  sleep 0.1
done
sed 's/^/  | /' "$LOG"

MESSAGES=$(mktemp /tmp/kiln-demo-XXXXXX.json)
trap 'kill -INT $SUPERVISOR 2>/dev/null || true; wait $SUPERVISOR 2>/dev/null || true; rm -f "$LOG" "$MESSAGES"' EXIT
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
