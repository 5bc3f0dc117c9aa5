#!/usr/bin/env bash
# Installs every Debian package Kiln's build and tests need.
# Idempotent: quiet and quick when everything is already there.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git clang clang-format
  libclang-rt-14-dev
  libboost-dev libboost-filesystem-dev libboost-system-dev
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev
  llvm-16-dev libzstd-dev zlib1g-dev libtinfo-dev libxml2-dev libedit-dev libffi-dev
  libspdlog-dev libfmt-dev catch2
  libsentencepiece-dev libsndfile1-dev
  libyaml-cpp-dev nlohmann-json3-dev libpcre2-dev libicu-dev xz-utils liblzma-dev
  libopenblas-dev libamdhip64-dev
  python3 python3-venv python3-pip python3-zmq python3-msgpack
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup.sh: done"
