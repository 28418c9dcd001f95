#!/usr/bin/env bash
# gridpact market clear on a sample book: the trades for each rule, and clear errors for
# bad input. Usage: clear_cli_test.sh GRIDPACT
set -euo pipefail
gridpact=$1
dir=$(cd "$(dirname "$0")" && pwd)
book=$dir/sample_book.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { jq -e "$1" "$tmp/out.json" >/dev/null || { echo "FAILED: $1" >&2; cat "$tmp/out.json" >&2; exit 1; }; }

# b0 may not buy from a9 (excluded) although o1 is cheaper; it buys 2000 Wh of o0 across
# microgrids (fee mg1->mg0 2000). o1's 1000 Wh go to b1 in mg1 (80000 - 10000 - fee 1500
# per kWh) rather than to b2 in mg0 (50000 - 10000): welfare decides. b1 (80000) cannot
# pay o0 (90000); b2 gets nothing.
"$gridpact" market clear --book "$book" --rule pay-as-bid > "$tmp/out.json"
check '.trades | length == 2'
check '.trades[] | select(.bid_id == "b0") | .offer_id == "o0" and .qty_wh == 2000 and .fee == 2000 and .price == 148000'
check '.trades[] | select(.bid_id == "b0") | .buyer_pays_nano == 300000000 and .seller_gets_nano == 296000000 and .fee_nano == 4000000'
check '.trades[] | select(.bid_id == "b1") | .offer_id == "o1" and .qty_wh == 1000 and .price == 78500 and .fee == 1500'
check 'has("note") | not'

"$gridpact" market clear --book "$book" --rule midpoint > "$tmp/out.json"
check '.trades[] | select(.bid_id == "b0") | .price == 119000'
check '.trades[] | select(.bid_id == "b1") | .price == 44250'

# Two microgrids and preferences: no uniform price; the output says what was done.
"$gridpact" market clear --book "$book" --rule pay-as-clear > "$tmp/out.json"
check '.note | test("midpoint")'
check '.trades[] | select(.bid_id == "b0") | .price == 119000'

# One microgrid, no preferences: a uniform market-clearing price.
jq '.orders |= map(select(.microgrid == "mg0" and .side == "offer" or .id == "b2"))
    | .orders += [{"id": "b3", "side": "bid", "qty_wh": 800, "price": 20000, "account": "a5", "microgrid": "mg0"}]' \
  "$book" > "$tmp/one.json"
"$gridpact" market clear --book "$tmp/one.json" > "$tmp/out.json"
# o1 1000 Wh @10000 sells 500 to b2 (50000) and 500 to b3 (20000): both bids at or above,
# the offer's unsold remainder is 0, so the price lies in [10000, 20000].
check '[.trades[].price] | unique | length == 1'
check '.trades[0].price >= 10000 and .trades[0].price <= 20000'
check '[.trades[].qty_wh] | add == 1000'

"$gridpact" market clear --book "$book" --rule continuous > "$tmp/out.json"
check '.trades | length >= 1'

# Bad input: clear errors, exit code 2, nothing on stdout but the error object.
expect_error() {
  local file=$1 says=$2
  if "$gridpact" market clear --book "$file" > "$tmp/out.json" 2>/dev/null; then
    echo "FAILED: $file was accepted" >&2; exit 1
  fi
  check ".error.message | test(\"$says\")"
}
echo '{"fees": {}, "orders": [' > "$tmp/bad1.json"
expect_error "$tmp/bad1.json" "not valid JSON"
jq '.orders[0].qty_wh = 0' "$book" > "$tmp/bad2.json"
expect_error "$tmp/bad2.json" "orders\\\\[0\\\\].*qty_wh"
jq '.orders[1].prce = 5' "$book" > "$tmp/bad3.json"
expect_error "$tmp/bad3.json" "unknown key 'prce'"
jq '.orders[1].id = "o0"' "$book" > "$tmp/bad4.json"
expect_error "$tmp/bad4.json" "duplicate id"
expect_error "$tmp/missing.json" "cannot read"
if "$gridpact" market clear --book "$book" --rule greedy > "$tmp/out.json" 2>/dev/null; then
  echo "FAILED: unknown rule accepted" >&2; exit 1
fi
check '.error.message | test("unknown rule")'
echo "market clear CLI: ok"
