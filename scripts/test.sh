#!/usr/bin/env bash
# scripts/test.sh: checks the format, then builds and runs every test GridPact has, in this order:
#   1. the -Werror build and its unit, integration and crash tests (ctest)
#   2. every example script under examples/ against fresh nodes
#   3. the benchmarks at a small size (they must keep working; figures come from bench/run)
#   4. an AddressSanitizer + UndefinedBehaviorSanitizer build (clang) and its tests (not the
#      crash and cluster fault tests, which kill and restart the real binary: the plain build
#      runs them)
#   5. each libFuzzer target for a short time, from the sanitizer build
# Set GRIDPACT_SKIP="fuzz asan bench" (any subset) to skip stages while iterating.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
skip=" ${GRIDPACT_SKIP:-} "
stage() { printf '\n##### %s (%s)\n' "$1" "$(date +%T)"; }

stage "format (clang-format, the committed .clang-format)"
git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

# The test builds carry no full debug information: it is a quarter of the compile time and
# no test reads it (sanitizer reports need only line tables, -g1).
stage "build (warnings as errors)"
bash scripts/build.sh build -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG"
stage "tests"
(cd build && ctest --output-on-failure -j 2 --timeout 600)

stage "examples"
GRIDPACT=$root/build/apps/gridpact/gridpact bash examples/run-all.sh

if [[ $skip != *" bench "* ]]; then
  stage "benchmarks, quick size"
  GRIDPACT_BENCH_QUICK=1 GRIDPACT_BENCH_BUILD=$root/build bench/run
fi

# One clang build serves the sanitizers and the fuzzers: clang compiles it in two thirds of
# gcc's time, and the libFuzzer targets need clang anyway.
if [[ $skip != *" asan "* ]]; then
  stage "AddressSanitizer + UndefinedBehaviorSanitizer build (clang) and tests"
  CC=clang CXX=clang++ bash scripts/build.sh build-asan -DGRIDPACT_SANITIZE=ON -DGRIDPACT_FUZZ=ON \
    -DGRIDPACT_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DCMAKE_C_FLAGS_DEBUG=-g1
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j 2 --timeout 900 -LE "crash|cluster")
fi

if [[ $skip != *" fuzz "* ]] && [ -x fuzz/run.sh ]; then
  stage "fuzzing"
  if [[ $skip != *" asan "* ]]; then export GRIDPACT_FUZZ_BUILD=$root/build-asan; fi
  bash fuzz/run.sh "${GRIDPACT_FUZZ_SECONDS:-15}"
fi
stage "all tests passed"
