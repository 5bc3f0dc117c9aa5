#!/usr/bin/env bash
# Makes a relocatable bundle of Kiln for a GPU host that has only the NVIDIA driver (e.g. Ubuntu
# 24.04 without ZeroMQ, Boost or yaml-cpp): the executables, libkiln_core, the device/model/
# tool-parser plugins and every shared library they need that is not part of the C runtime,
# plus wrapper scripts that point the loader and Kiln's plugin search at the bundle.
#
#   tools/bundle.sh OUT_DIR [--build DIR] [--with-cpu] [--tar] [--extra FILE]...
#
# --with-cpu   also ship the cpu_llvm plugin and libLLVM (large: left out by default)
# --tar        also write OUT_DIR.tar.xz (the libraries compress about 3x)
# --extra F    also ship the executable F (e.g. a test binary) with its libraries
# Run OUT_DIR/kiln ... on the target; OUT_DIR/run CMD... runs any command in the bundle's
# environment. libcuda.so.1 is never shipped: it comes with the driver.
set -euo pipefail

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 1 ]] || usage
out=$1; shift
build=build with_cpu=0 tar=0 extras=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --with-cpu) with_cpu=1; shift ;;
    --tar) tar=1; shift ;;
    --extra) extras+=("$2"); shift 2 ;;
    *) usage ;;
  esac
done
[[ -x $build/bin/kiln ]] || { echo "bundle: $build/bin/kiln not built" >&2; exit 1; }

# The C runtime the target brings (glibc and the GCC runtime: newer there, backward compatible),
# and the GPU driver, are never copied.
system_lib() {
  case $1 in
    linux-vdso.so*|ld-linux*|libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|libutil.so*|\
    libresolv.so*|libstdc++.so*|libgcc_s.so*|libcuda.so*|libnvidia*) return 0 ;;
  esac
  return 1
}

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib/kiln/plugins"
objects=()
for exe in "$build"/bin/*; do
  [[ -f $exe && -x $exe ]] || continue
  case $(basename "$exe") in test_*|bench_*) continue ;; esac
  cp "$exe" "$out/bin/"; objects+=("$exe")
done
for f in "${extras[@]}"; do cp "$f" "$out/bin/"; objects+=("$f"); done
for so in "$build"/lib/libkiln_core.so*; do cp -P "$so" "$out/lib/"; done
objects+=("$build/lib/libkiln_core.so.0")
for p in "$build"/lib/kiln/plugins/*.so; do
  [[ $(basename "$p") == cpu_llvm.so && $with_cpu == 0 ]] && continue
  cp "$p" "$out/lib/kiln/plugins/"; objects+=("$p")
done

# Every library the objects need (ldd resolves the whole closure), minus the system ones.
declare -A seen=()
for o in "${objects[@]}"; do
  while read -r name path; do
    system_lib "$name" && continue
    [[ $name == libkiln_core.so* ]] && continue
    [[ -n ${seen[$name]:-} ]] && continue
    [[ -f $path ]] || { echo "bundle: $o needs $name, which is not found" >&2; exit 1; }
    seen[$name]=1
    cp -L "$path" "$out/lib/$name"
  done < <(LD_LIBRARY_PATH="$build/lib:${LD_LIBRARY_PATH:-}" ldd "$o" | awk '/=>/ && $3 ~ /^\// {print $1, $3}')
done

cat > "$out/run" <<'SH'
#!/bin/sh
# Runs a command with the bundle's libraries and plugins.
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export KILN_PLUGIN_PATH="$here/lib/kiln/plugins${KILN_PLUGIN_PATH:+:$KILN_PLUGIN_PATH}"
export PATH="$here/bin:$PATH"
exec "$@"
SH
cat > "$out/kiln" <<'SH'
#!/bin/sh
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/run" "$here/bin/kiln" "$@"
SH
chmod +x "$out/run" "$out/kiln"
echo "bundle: $out ($(du -sh "$out" | cut -f1)): $(ls "$out/bin" | tr '\n' ' ')"
if [[ $tar == 1 ]]; then
  XZ_OPT=${XZ_OPT:--T0} tar -C "$(dirname "$out")" -cJf "$out.tar.xz" "$(basename "$out")"
  echo "bundle: $out.tar.xz ($(du -sh "$out.tar.xz" | cut -f1))"
fi
