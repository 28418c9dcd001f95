#!/usr/bin/env bash
# scripts/build.sh [BUILD_DIR] [extra cmake args...]: configures and builds GridPact with
# warnings as errors. The default build directory is build/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true
cmake -S "$root" -B "$build" -G Ninja -DGRIDPACT_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
