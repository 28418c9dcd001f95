#!/usr/bin/env bash
# fuzz/run.sh [SECONDS]: builds every libFuzzer target (fuzz_* here and in src/) with clang
# in build-fuzz/ and runs each for SECONDS (default 15) on a scratch copy of its seed
# corpus (fuzz/corpus/<target>/, or the folder named in the table below). Fails on any
# crash, sanitizer report or invariant violation. Crash inputs are kept in
# build-fuzz/fuzz-artifacts/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-15}
build=${GRIDPACT_FUZZ_BUILD:-$root/build-fuzz}
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DGRIDPACT_FUZZ=ON \
  -DGRIDPACT_BENCH=OFF -DGRIDPACT_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=$(ninja -C "$build" -t targets all | grep -o '^fuzz_[a-z0-9_]*' | sort -u)
[ -n "$targets" ] || { echo "fuzz/run.sh: no fuzz targets configured" >&2; exit 1; }
# shellcheck disable=SC2086
ninja -C "$build" $targets >/dev/null

corpus_of() {
  case "$1" in
    fuzz_evidence) echo "$root/src/attest/evidence_corpus" ;;
    *) echo "$root/fuzz/corpus/$1" ;;
  esac
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/fuzz-artifacts"
failed=0
for t in $targets; do
  bin=$(find "$build" -type f -name "$t" -perm -u+x | head -1)
  seeds=$(corpus_of "$t")
  mkdir -p "$work/$t"
  if [ -d "$seeds" ]; then cp -r "$seeds/." "$work/$t/"; fi
  echo "# fuzz $t for ${seconds}s ($(find "$work/$t" -type f | wc -l) seeds)" >&2
  if ! "$bin" "$work/$t" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/fuzz-artifacts/$t-" >"$work/$t.log" 2>&1; then
    tail -n 40 "$work/$t.log" >&2
    echo "FUZZ FAILURE: $t (artifacts in $build/fuzz-artifacts/)" >&2
    failed=1
  else
    grep -E 'stat::number_of_executed_units|cov:' "$work/$t.log" | tail -n 2 >&2 || true
  fi
done
exit $failed
