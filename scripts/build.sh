#!/usr/bin/env bash
# scripts/build.sh [BUILD_DIR] [--target NAME]... [extra cmake args...]: configures and
# builds GridPact with warnings as errors. The default build directory is build/; with
# --target, only those targets (and what they need) are built, e.g.
#   bash scripts/build.sh build --target gridpact
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true
configure=() targets=()
while [ $# -gt 0 ]; do
  if [ "$1" = --target ] && [ $# -ge 2 ]; then targets+=(--target "$2"); shift 2
  else configure+=("$1"); shift; fi
done
cmake -S "$root" -B "$build" -G Ninja -DGRIDPACT_WERROR=ON "${configure[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)" "${targets[@]}"
