#!/usr/bin/env bash
# `make demo`: the main job on the embedded default configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
KILN=build/bin/kiln
echo "Kiln demo"
echo "========="
echo "Not finished yet: the demo will start the supervisor on configs/default.yaml with the"
echo "default model and stream a chat answer through the client. The model plugin and the"
echo "supervisor have not landed; for now it shows the CLI and the plugins it finds."
echo
"$KILN" --help
