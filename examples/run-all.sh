#!/usr/bin/env bash
# Runs every example script; CI calls this. Exits non-zero if any example fails.
set -uo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
failed=0
for ex in "$dir"/*.sh; do
  case "$(basename "$ex")" in lib.sh|run-all.sh) continue ;; esac
  echo "### example $(basename "$ex")"
  if bash "$ex"; then echo "### example $(basename "$ex"): ok"; else echo "### example $(basename "$ex"): FAILED"; failed=1; fi
done
exit $failed
