#!/usr/bin/env bash
# The market end to end: a development chain with 5-second settlement periods and two
# microgrids, virtual (INSECURE) meters registered for two sellers and two buyers, offers
# and bids (one green-only), refusals with their codes, clearing at gate closure, the
# trades with their provenance, signed meter readings, settlement statements, the buyer's
# energy mix, and money conserved. Also `gridpact market clear` on a book file.
source "$(dirname "$0")/lib.sh"
"$GRIDPACT" tx meter-register --help >/dev/null 2>&1 || {
  echo "examples/market.sh needs the meters CLI (gridpact tx meter-register)" >&2; exit 2; }

say "offline: clear a book file with the engine the ledger runs"
cat > "$work/book.json" <<'EOF'
{"meta": {"schema": "clearing-book/1"},
 "fees": {"north": {"north": 0, "south": 1500}, "south": {"north": 2000, "south": 0}},
 "orders": [
  {"id": "o1", "side": "offer", "qty_wh": 5000, "price": 90000, "account": "solar-farm", "microgrid": "south", "source": "pv"},
  {"id": "o2", "side": "offer", "qty_wh": 3000, "price": 40000, "account": "gas-peaker", "microgrid": "north", "source": "grid"},
  {"id": "b1", "side": "bid", "qty_wh": 2000, "price": 150000, "account": "green-home", "microgrid": "north", "renewable_only": true},
  {"id": "b2", "side": "bid", "qty_wh": 4000, "price": 100000, "account": "factory", "microgrid": "north"}]}
EOF
for rule in pay-as-bid midpoint pay-as-clear; do
  echo "rule $rule:"
  "$GRIDPACT" market clear --book "$work/book.json" --rule "$rule" | jq -c '.trades[] | {bid_id, offer_id, qty_wh, price, fee}'
done
"$GRIDPACT" market clear --book "$work/book.json" | jq -e '[.trades[] | select(.bid_id == "b1") | .offer_id] | unique == ["o1"]' >/dev/null
echo "a typo is an error, not a silent default:"
jq '.orders[0].qty = 5' "$work/book.json" > "$work/typo.json"
if "$GRIDPACT" market clear --book "$work/typo.json" > "$work/err.json" 2>/dev/null; then echo "typo accepted!" >&2; exit 1; fi
jq -c .error "$work/err.json"

say "a development chain with 5-second periods and two fee zones"
data=$work/chain
start_node "$data"
stop_node
sed -i 's/^period_ms = .*/period_ms = 5000/' "$data/genesis.toml"
# The market's own keys go under [market] (other modules' sections follow it).
sed -i '/^\[market\]$/r /dev/stdin' "$data/genesis.toml" <<'EOF'
retail_tariff = 300000
feed_in_tariff = 80000
settlement_deadline_ms = 20000
tax_ppm = 0
EOF
cat >> "$data/genesis.toml" <<'EOF'

[market.fees.north]
north = 0
south = 1500

[market.fees.south]
north = 2000
south = 0
EOF
rm -rf "$data/db"
start_node "$data"
"$GRIDPACT" query --node "$NODE" module market/params | jq -c '{rule, retail_tariff, feed_in_tariff, fees}'
say "every module parameter by its dotted name (the values governance may change)"
"$GRIDPACT" query --node "$NODE" params | jq -c '{"market.rule", "market.retail_tariff", "market.gate_closure_ms"}'

alice=$data/keys/alice.json
issuer=$data/keys/issuer.json
meter_id() { jq -r .public_key "$1" | xxd -r -p | sha256sum | cut -d' ' -f1; }
declare -A mg=([solar]=south [peaker]=north [home]=north [factory]=north)
declare -A src=([solar]=pv [peaker]=grid [home]=consumer [factory]=consumer)
for who in solar peaker home factory; do
  "$GRIDPACT" keygen --out "$work/$who.json" >/dev/null
  "$GRIDPACT" keygen --out "$work/$who-meter.json" >/dev/null
  "$GRIDPACT" tx transfer --node "$NODE" --key "$alice" --to "$(pk "$work/$who.json")" --amount 50000000 | jq -e '.receipt.ok' >/dev/null
  "$GRIDPACT" tx meter-register --node "$NODE" --key "$work/$who.json" --platform virtual \
    --meter-key "$work/$who-meter.json" --microgrid "${mg[$who]}" --source "${src[$who]}" | jq -e '.receipt.ok' >/dev/null
  echo "$who: account $(pk "$work/$who.json" | cut -c1-16)..., ${src[$who]} meter $(meter_id "$work/$who-meter.json" | cut -c1-16)... in ${mg[$who]}"
done

period=$(( $(date +%s%3N) / 5000 + 2 ))
say "orders for period $period (its gate closes at $((period * 5000)) ms)"
"$GRIDPACT" tx offer --node "$NODE" --key "$work/solar.json" --meter "$(meter_id "$work/solar-meter.json")" \
  --period "$period" --qty 5000 --price 90000 | jq -c '.receipt | {ok, events: [.events[].data]}'
"$GRIDPACT" tx offer --node "$NODE" --key "$work/peaker.json" --meter "$(meter_id "$work/peaker-meter.json")" \
  --period "$period" --qty 3000 --price 40000 | jq -c '.receipt.ok'
"$GRIDPACT" tx bid --node "$NODE" --key "$work/home.json" --meter "$(meter_id "$work/home-meter.json")" \
  --period "$period" --qty 2000 --price 150000 --renewable-only | jq -c '.receipt | {ok, events: [.events[].data]}'
"$GRIDPACT" tx bid --node "$NODE" --key "$work/factory.json" --meter "$(meter_id "$work/factory-meter.json")" \
  --period "$period" --qty 4000 --price 100000 | jq -c '.receipt.ok'
"$GRIDPACT" query --node "$NODE" book --period "$period" | jq -c '[.orders[] | {side, qty, price, microgrid}]'
supply=$("$GRIDPACT" query --node "$NODE" module bank/supply | jq .supply)

say "refused, with their codes"
refuse() {
  local want=$1; shift
  if "$@" > "$work/r.json" 2>/dev/null; then echo "accepted: $*" >&2; exit 1; fi
  jq -c '.receipt // .error | {code, code_name: (.code_name // .name), message}' "$work/r.json"
  [ "$(jq -r '.receipt.code_name // .error.name' "$work/r.json")" = "$want" ]
}
refuse BAD_ORDER "$GRIDPACT" tx offer --node "$NODE" --key "$work/solar.json" --meter "$(meter_id "$work/solar-meter.json")" --period "$period" --qty 0 --price 1
refuse METER_NOT_OWNED "$GRIDPACT" tx offer --node "$NODE" --key "$work/peaker.json" --meter "$(meter_id "$work/solar-meter.json")" --period "$period" --qty 10 --price 1
refuse METER_NOT_GENERATING "$GRIDPACT" tx offer --node "$NODE" --key "$work/home.json" --meter "$(meter_id "$work/home-meter.json")" --period "$period" --qty 10 --price 1
refuse INSUFFICIENT_FUNDS "$GRIDPACT" tx bid --node "$NODE" --key "$work/home.json" --meter "$(meter_id "$work/home-meter.json")" --period "$period" --qty 1000000 --price 100000
refuse GATE_CLOSED "$GRIDPACT" tx bid --node "$NODE" --key "$work/home.json" --meter "$(meter_id "$work/home-meter.json")" --period 1 --qty 10 --price 1

say "gate closure: the period clears in the first block after it"
until "$GRIDPACT" query --node "$NODE" price --period "$period" > "$work/price.json" 2>/dev/null; do sleep 0.5; done
jq -c . "$work/price.json"
"$GRIDPACT" query --node "$NODE" trades --period "$period" > "$work/trades.json"
jq -c '.trades[] | {seller_microgrid, buyer_microgrid, source, qty_wh, price, fee}' "$work/trades.json"
# The green-only buyer got only pv.
jq -e --arg home "$(pk "$work/home.json")" '[.trades[] | select(.buyer == $home) | .source] | unique == ["pv"]' "$work/trades.json" >/dev/null

say "meter readings for period $period (cumulative registers; the solar farm sold 3000 Wh but exported only 2500)"
# First the quiet periods since each meter's registration (catch_up, examples/lib.sh): a
# first reading counts only for the registration period, and a period settles from
# contiguous readings.
for who in solar peaker home factory; do
  catch_up "$work/$who.json" "$work/$who-meter.json" "$period" >/dev/null
done
until [ $(( $(date +%s%3N) / 5000 )) -gt "$period" ]; do sleep 0.5; done
reading() {  # catch_up prints the next sequence number (and reports any period missed)
  local s
  s=$(catch_up "$work/$1.json" "$work/$1-meter.json" "$period")
  "$GRIDPACT" tx reading --node "$NODE" --key "$work/$1.json" --platform virtual --meter-key "$work/$1-meter.json" \
    --period "$period" --seq "$s" --import "$2" --export "$3" | jq -e '.receipt.ok' >/dev/null
}
reading solar 0 2500
reading peaker 0 3000
reading home 2000 0
reading factory 4000 0

say "settlement statements"
until "$GRIDPACT" query --node "$NODE" settlement --period "$period" --account "$(pk "$work/home.json")" | jq -e .settled >/dev/null; do sleep 0.5; done
for who in solar peaker home factory; do
  "$GRIDPACT" query --node "$NODE" settlement --period "$period" --account "$(pk "$work/$who.json")" |
    jq -c --arg who "$who" '{who: $who, sold_wh, delivered_wh, bought_wh, received_wh, grid_wh, paid, received, fees}'
done

say "the green buyer's energy mix, each trade with its receipts"
"$GRIDPACT" query --node "$NODE" mix "$(pk "$work/home.json")" | jq -c '{total_wh, renewable_wh, by_source, receipts: [.trades[].receipts]}'

say "money is conserved: supply unchanged, no escrow left"
after=$("$GRIDPACT" query --node "$NODE" module bank/supply | jq .supply)
echo "supply before $supply, after $after"
[ "$supply" = "$after" ]
for who in home factory; do
  "$GRIDPACT" query --node "$NODE" account "$(pk "$work/$who.json")" | jq -e '.modules.bank.locked == 0' >/dev/null
done
say "ratings: the green buyer rates the solar farm for their settled trade (once); the farm rates back"
i=$(jq --arg home "$(pk "$work/home.json")" '[.trades[].buyer] | index($home)' "$work/trades.json")
trade="electricity/$period/$i"
"$GRIDPACT" tx rate --node "$NODE" --key "$work/home.json" --trade "$trade" --score 4 | jq -c '.receipt.events[0].data'
"$GRIDPACT" tx rate --node "$NODE" --key "$work/solar.json" --trade "$trade" --score 5 | jq -e '.receipt.ok' >/dev/null
"$GRIDPACT" tx rate --node "$NODE" --key "$work/home.json" --trade "$trade" --score 1 > "$work/again.json" || true
jq -e '(.receipt.code_name // .error.name) == "ALREADY_RATED"' "$work/again.json" >/dev/null
"$GRIDPACT" tx rate --node "$NODE" --key "$work/peaker.json" --trade "$trade" --score 1 > "$work/stranger.json" || true
jq -e '(.receipt.code_name // .error.name) == "NOT_A_PARTY"' "$work/stranger.json" >/dev/null
echo "refused: rating twice (ALREADY_RATED), rating a trade of others (NOT_A_PARTY)"
"$GRIDPACT" query --node "$NODE" rating "$(pk "$work/solar.json")" | jq -c .
stop_node
"$GRIDPACT" db sync --data "$data" --db "sqlite:$work/readmodel.db" | jq -c .
"$GRIDPACT" db verify --data "$data" --db "sqlite:$work/readmodel.db" | jq -c '{ok, trade_ratings: .tables.trade_ratings}' | tee "$work/verify.json"
jq -e '.ok and .trade_ratings.db == 2' "$work/verify.json" >/dev/null
echo "market example: ok"
