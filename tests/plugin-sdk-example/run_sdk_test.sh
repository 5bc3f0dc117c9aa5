#!/usr/bin/env bash
# The third-party plugin workflow, for real: install Kiln into a fresh prefix, build this
# example against that installation only, and have the INSTALLED supervisor's runner load it.
# usage: run_sdk_test.sh KILN_BUILD_DIR EXAMPLE_SOURCE_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
WORK=$(mktemp -d /tmp/ksdk-XXXXXX)
chmod 700 "$WORK"
SUP_PID=""
cleanup() {
  if [[ -n "$SUP_PID" ]]; then kill "$SUP_PID" 2>/dev/null || true; wait "$SUP_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== install Kiln into $WORK/prefix"
cmake --install "$BUILD" --prefix "$WORK/prefix" > "$WORK/install.log"
test -f "$WORK/prefix/include/kiln/model.h"
CONFIG=$(find "$WORK/prefix" -name KilnConfig.cmake | head -1)
test -n "$CONFIG"

echo "== build the example against the installed SDK"
# KILN_PLUGIN_PATH and the build tree must play no part: only the installed prefix.
unset KILN_PLUGIN_PATH
cmake -S "$SRC" -B "$WORK/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$WORK/prefix" > "$WORK/configure.log"
cmake --build "$WORK/example" > "$WORK/build.log"
test -f "$WORK/example/sdk_example.so"

KILN="$WORK/prefix/bin/kiln"
echo "== the installed kiln sees it"
"$KILN" plugins --plugin-path "$WORK/example" | tee "$WORK/plugins.txt"
grep -q "model *sdk_example *0.1.0" "$WORK/plugins.txt"

echo "== the installed supervisor's runner loads it"
cat > "$WORK/config.yaml" <<YAML
instance: sdk$$
run_dir: $WORK/run
endpoints: [ipc://$WORK/run/k.sock]
plugin_paths: [$WORK/example]
models:
  - name: reverse
    plugin: sdk_example
YAML
"$WORK/prefix/bin/kiln-supervisor" --config "$WORK/config.yaml" > "$WORK/supervisor.log" 2>&1 &
SUP_PID=$!
for _ in $(seq 100); do
  "$KILN" client health --endpoint "ipc://$WORK/run/k.sock" --timeout 0.2 > /dev/null 2>&1 && break
  sleep 0.1
done
OUT=$("$KILN" client generate --endpoint "ipc://$WORK/run/k.sock" --prompt "stressed" --timeout 30)
echo "answer: $OUT"
if [[ "$OUT" != "desserts" ]]; then
  cat "$WORK/supervisor.log"
  exit 1
fi
grep -q "plugin sdk_example ($WORK/example/sdk_example.so)" "$WORK/supervisor.log"
# The runner that loaded it is the installed one.
grep -q "started runner" "$WORK/supervisor.log"
echo "plugin SDK example: OK"
