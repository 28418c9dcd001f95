#!/usr/bin/env bash
# The community simulator: a small scenario run twice with one seed (with 1 and 2 threads):
# the summaries and the final state roots are equal, the chain replays with verify-chain, a
# run with two meters on swtpm trades the same, and bad scenarios are refused before any work
# with the field named.
source "$(dirname "$0")/lib.sh"

cat > "$work/small.toml" <<'TOML'
seed = 7
days = 1
[households]
count = 20
TOML

say "run 1 (1 thread)"
"$GRIDPACT" simulate --scenario "$work/small.toml" --out "$work/run1" --threads 1 2>/dev/null | tail -n 14
say "run 2 (2 threads)"
"$GRIDPACT" simulate --scenario "$work/small.toml" --out "$work/run2" --threads 2 >/dev/null 2>&1
cmp "$work/run1/summary.json" "$work/run2/summary.json"
root=$(jq -r .ledger.state_root "$work/run1/summary.json")
echo "summaries equal; state root $root"
for f in report.html periods.csv households.csv; do [ -s "$work/run1/$f" ] || { echo "missing $f" >&2; exit 1; }; done
grep -q '<svg' "$work/run1/report.html"
if grep -qE '(src|href)="https?:' "$work/run1/report.html"; then echo "report is not self-contained" >&2; exit 1; fi

say "replay the chain from genesis"
"$GRIDPACT" verify-chain --data "$work/run1/chain" | tee "$work/verify.json" | jq -c .
[ "$(jq -r .state_root "$work/verify.json")" = "$root" ]
jq -e '.consumers.savings_vs_grid_pct > 0 and .prosumers.gain_vs_feed_in_pct > 0 and .ledger.failed_transactions == 0' \
  "$work/run1/summary.json" >/dev/null

say "two prosumers' meters on swtpm (TPM 2.0 emulator): readings signed inside the TPM"
"$GRIDPACT" simulate --scenario "$work/small.toml" --out "$work/tpm" --tpm 2 >/dev/null 2>&1
jq -c .meters "$work/tpm/summary.json"
jq -e '.meters.tpm2 == 2' "$work/tpm/summary.json" >/dev/null
# The same trades and money as the virtual run: only the meters' keys and signatures differ.
jq -e --slurpfile v "$work/run1/summary.json" '.consumers == $v[0].consumers and .prosumers == $v[0].prosumers' \
  "$work/tpm/summary.json" >/dev/null
"$GRIDPACT" verify-chain --data "$work/tpm/chain" | jq -e .verified >/dev/null

say "bad scenarios are refused before any work"
printf 'days = 0\n' > "$work/bad.toml"
if "$GRIDPACT" simulate --scenario "$work/bad.toml" --out "$work/bad" >"$work/err.json" 2>/dev/null; then
  echo "zero days accepted" >&2; exit 1; fi
jq -c .error "$work/err.json"
printf '[households]\ncuont = 5\n' > "$work/typo.toml"
if "$GRIDPACT" simulate --scenario "$work/typo.toml" --out "$work/bad" >"$work/err.json" 2>/dev/null; then
  echo "unknown field accepted" >&2; exit 1; fi
jq -c .error "$work/err.json"
[ ! -e "$work/bad/summary.json" ]
if "$GRIDPACT" simulate --scenario "$work/small.toml" --out /proc/gridpact-sim >"$work/err.json" 2>/dev/null; then
  echo "unwritable --out accepted" >&2; exit 1; fi
jq -c .error "$work/err.json"
echo "simulate: ok"
