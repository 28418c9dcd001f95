#!/usr/bin/env bash
# fuzz/run.sh [SECONDS]: builds every libFuzzer target (fuzz_* here and in src/) with clang
# in build-fuzz/ (or $GRIDPACT_FUZZ_BUILD) and runs each for SECONDS (default 15) on a
# scratch copy of its seed corpus (fuzz/corpus/<target>/, or the folder named in the table
# below). Fails on any crash, sanitizer report or invariant violation. Crash inputs are kept
# in the build's fuzz-artifacts/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-15}
build=${GRIDPACT_FUZZ_BUILD:-$root/build-fuzz}
# A build already configured with the fuzz targets (scripts/test.sh's sanitizer build, via
# GRIDPACT_FUZZ_BUILD) is used as it is; any other is configured here.
if ! grep -qs '^GRIDPACT_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DGRIDPACT_FUZZ=ON \
    -DGRIDPACT_BENCH=OFF -DGRIDPACT_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
targets=$(ninja -C "$build" -t targets all | grep -o '^fuzz_[a-z0-9_]*' | sort -u)
[ -n "$targets" ] || { echo "fuzz/run.sh: no fuzz targets configured" >&2; exit 1; }
# shellcheck disable=SC2086
if ! ninja -C "$build" $targets >"$build/fuzz-build.log" 2>&1; then
  grep -E -A5 'error|FAILED' "$build/fuzz-build.log" | head -n 60 >&2
  echo "fuzz/run.sh: building the fuzz targets failed (log: $build/fuzz-build.log)" >&2
  exit 1
fi

corpus_of() {
  case "$1" in
    fuzz_evidence) echo "$root/src/attest/evidence_corpus" ;;
    fuzz_reading) echo "$root/src/modules/meters/reading_corpus" ;;
    *) echo "$root/fuzz/corpus/$1" ;;
  esac
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/fuzz-artifacts"

# run_one TARGET: fuzzes TARGET for $seconds; its log goes to $work/TARGET.log.
run_one() {
  local t=$1 bin seeds
  bin=$(find "$build" -type f -name "$t" -perm -u+x | head -1)
  seeds=$(corpus_of "$t")
  mkdir -p "$work/$t"
  if [ -d "$seeds" ]; then cp -r "$seeds/." "$work/$t/"; fi
  "$bin" "$work/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t-" >"$work/$t.log" 2>&1
}

# Two targets at a time (the machine has two cores); each prints a summary when done.
jobs_max=$(( $(nproc) < 2 ? 1 : 2 ))
declare -A pids
for t in $targets; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do sleep 0.2; done
  echo "# fuzz $t for ${seconds}s" >&2
  run_one "$t" &
  pids[$t]=$!
done
failed=0
for t in $targets; do
  if wait "${pids[$t]}"; then
    printf '# %s: ok, %s runs\n' "$t" \
      "$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" | grep -o '[0-9]*$')" >&2
  else
    tail -n 40 "$work/$t.log" >&2
    echo "FUZZ FAILURE: $t (artifacts in $build/fuzz-artifacts/)" >&2
    failed=1
  fi
done
exit $failed
