#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD/bin for FUZZ_SECONDS each (default 60) over its corpus
# in fuzz/corpus/<name>/, and fails if any target finds a crash.
set -euo pipefail
BUILD=${1:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-60}
cd "$(dirname "$0")/.."
status=0
shopt -s nullglob
for bin in "$BUILD"/bin/fuzz_*; do
  name=$(basename "$bin"); name=${name#fuzz_}
  corpus=fuzz/corpus/$name
  mkdir -p "$corpus" fuzz-out/$name
  echo "== fuzz $name ($SECONDS_EACH s)"
  if ! "$bin" -max_total_time="$SECONDS_EACH" -artifact_prefix=fuzz-out/$name/ \
      fuzz-out/$name "$corpus" > fuzz-out/$name.log 2>&1; then
    echo "FAILED: $name (see fuzz-out/$name.log)"; tail -30 fuzz-out/$name.log; status=1
  fi
done
exit $status
