#!/usr/bin/env bash
# Green tokens end to end (docs/tokens.md): a development chain with 5-second periods and a
# microgrid short of wind. Two prosumers, one with PV only and one with PV and wind (and a
# PV farm that makes wind scarce), export in the same period; their rewards per kWh are
# printed side by side with the microgrid's factors. Then a token transfer, a redemption
# from a sponsor-funded pool (and the refusals: beyond one's tokens, beyond the pool), a bid
# paid partly in tokens, and the supply invariants.
source "$(dirname "$0")/lib.sh"
"$GRIDPACT" tx token-transfer --help >/dev/null 2>&1 || {
  echo "examples/incentives.sh needs the tokens CLI (gridpact tx token-transfer)" >&2; exit 2; }

say "a development chain with 5-second periods; a period is final 20 s after it ends"
data=$work/chain
start_node "$data"
stop_node
sed -i 's/^period_ms = .*/period_ms = 5000/' "$data/genesis.toml"
sed -i '/^\[market\]$/r /dev/stdin' "$data/genesis.toml" <<'EOF'
settlement_deadline_ms = 20000
EOF
cat >> "$data/genesis.toml" <<'EOF'

[market.fees.north]
north = 0
EOF
rm -rf "$data/db"
start_node "$data"
"$GRIDPACT" query --node "$NODE" module tokens/params | jq -c .

alice=$data/keys/alice.json
meter_id() { jq -r .public_key "$1" | xxd -r -p | sha256sum | cut -d' ' -f1; }
now_period() { echo $(( $(date +%s%3N) / 5000 )); }
refuse() {
  local want=$1; shift
  if "$@" > "$work/r.json" 2>/dev/null; then echo "accepted: $*" >&2; exit 1; fi
  jq -c '.receipt // .error | {code, code_name: (.code_name // .name), message}' "$work/r.json"
  [ "$(jq -r '.receipt.code_name // .error.name' "$work/r.json")" = "$want" ]
}
# register WHO NAME SOURCE: a virtual (INSECURE) meter NAME of WHO in microgrid north.
register() {
  "$GRIDPACT" keygen --out "$work/$2.json" >/dev/null
  "$GRIDPACT" tx meter-register --node "$NODE" --key "$work/$1.json" --platform virtual \
    --meter-key "$work/$2.json" --microgrid north --source "$3" | jq -e '.receipt.ok' >/dev/null
}
# reading WHO METER PERIOD IMPORT EXPORT (cumulative registers), after any period the meter
# has not reported yet (catch_up, examples/lib.sh: only contiguous readings count).
reading() {
  local s
  s=$(catch_up "$work/$1.json" "$work/$2.json" "$3")
  "$GRIDPACT" tx reading --node "$NODE" --key "$work/$1.json" --platform virtual --meter-key "$work/$2.json" \
    --period "$3" --seq "$s" --import "$4" --export "$5" | jq -e '.receipt.ok' >/dev/null
}
# before_reading PERIOD WHO:METER...: the meters report the periods before PERIOD that have
# started, so that their readings of PERIOD arrive right after it ends.
before_reading() {
  local p=$1 wm to=$(( $(now_period) + 1 ))
  shift
  [ "$to" -gt "$p" ] && to=$p
  for wm in "$@"; do catch_up "$work/${wm%%:*}.json" "$work/${wm#*:}.json" "$to" >/dev/null; done
}

say "prosumers in microgrid north: sun (PV only), duo (PV and wind), farm (a big PV farm)"
for who in sun duo farm; do
  "$GRIDPACT" keygen --out "$work/$who.json" >/dev/null
  "$GRIDPACT" tx transfer --node "$NODE" --key "$alice" --to "$(pk "$work/$who.json")" --amount 5000000 | jq -e '.receipt.ok' >/dev/null
done
register sun sun-pv pv
register sun sun-home consumer
register duo duo-pv pv
register duo duo-wind wind
register farm farm-pv pv
register farm farm-pv2 pv   # sells in the market later (its first reading is contiguous)

before_reading "$(( $(now_period) + 1 ))" sun:sun-pv duo:duo-pv duo:duo-wind farm:farm-pv
p=$(( $(now_period) + 1 ))
say "everyone exports in period $p: sun 3 kWh PV; duo 3 kWh PV + 1 kWh wind; farm 6 kWh PV"
before_reading "$p" sun:sun-pv duo:duo-pv duo:duo-wind farm:farm-pv
until [ "$(now_period)" -gt "$p" ]; do sleep 0.3; done
reading sun sun-pv "$p" 0 3000
reading duo duo-pv "$p" 0 3000
reading duo duo-wind "$p" 0 1000
reading farm farm-pv "$p" 0 6000
echo "minted once the period is final (its end + settlement deadline) ..."
until "$GRIDPACT" query --node "$NODE" tokens "$(pk "$work/sun.json")" 2>/dev/null | jq -e '.balance > 0' >/dev/null; do sleep 0.5; done

say "rewards per kWh, side by side (tokens; 1 token = 1,000,000 micro-tokens)"
printf '%-6s %10s %12s %14s\n' who kWh tokens tokens/kWh
for who in sun duo farm; do
  "$GRIDPACT" query --node "$NODE" tokens "$(pk "$work/$who.json")" > "$work/$who-tokens.json"
  jq -r --arg who "$who" '[$who, ([.entries[].wh] | add / 1000), (.balance / 1e6), ((.balance / 1e6) / (([.entries[].wh] | add) / 1000))] |
    "\(.[0])\t\(.[1])\t\(.[2])\t\(.[3])"' "$work/$who-tokens.json" |
    awk -F'\t' '{printf "%-6s %10.3f %12.6f %14.6f\n", $1, $2, $3, $4}'
done
sun_rate=$(jq '.balance / ([.entries[].wh] | add)' "$work/sun-tokens.json")
duo_rate=$(jq '.balance / ([.entries[].wh] | add)' "$work/duo-tokens.json")
awk -v a="$duo_rate" -v b="$sun_rate" 'BEGIN { exit !(a > b) }'
echo "duo's mints, each with its rate (micro-tokens per kWh):"
jq -c '.entries[] | {source, wh, rate_per_kwh, amount, virtual}' "$work/duo-tokens.json"
say "why: microgrid north's mix over the window, and duo's owner factor"
"$GRIDPACT" query --node "$NODE" token-mix north --account "$(pk "$work/duo.json")" |
  jq -c '{renewable_wh, account: .account | {sources, owner_factor_ppm}, sources: (.sources | map_values({wh, share_ppm, scarcity_factor_ppm, rate_per_kwh}))}'

say "a token transfer: duo sends 1 token to sun"
"$GRIDPACT" tx token-transfer --node "$NODE" --key "$work/duo.json" --to "$(pk "$work/sun.json")" --amount 1000000 --memo "thanks" |
  jq -c '.receipt | {ok, events: [.events[].data]}'
refuse INSUFFICIENT_TOKENS "$GRIDPACT" tx token-transfer --node "$NODE" --key "$work/sun.json" --to "$(pk "$work/duo.json")" --amount 999000000

say "the pool: alice sponsors 0.1 (100,000 micro-units); a token redeems for 0.1 (tokens.redeem_rate)"
"$GRIDPACT" tx fund-pool --node "$NODE" --key "$alice" --amount 100000 | jq -c '.receipt.events[].data'
refuse POOL_INSUFFICIENT "$GRIDPACT" tx redeem --node "$NODE" --key "$work/sun.json" --amount 2000000
refuse INSUFFICIENT_TOKENS "$GRIDPACT" tx redeem --node "$NODE" --key "$work/sun.json" --amount 900000000
"$GRIDPACT" tx fund-pool --node "$NODE" --key "$alice" --amount 5000000 | jq -e '.receipt.ok' >/dev/null
cash=$("$GRIDPACT" query --node "$NODE" module "bank/accounts/$(pk "$work/sun.json")" | jq .balance)
"$GRIDPACT" tx redeem --node "$NODE" --key "$work/sun.json" --amount 2000000 | jq -c '.receipt.events[].data'
after=$("$GRIDPACT" query --node "$NODE" module "bank/accounts/$(pk "$work/sun.json")" | jq .balance)
echo "sun redeemed 2 tokens: currency $cash -> $after"
[ $((after - cash)) = 200000 ]
"$GRIDPACT" query --node "$NODE" token-pool | jq -c .

before_reading "$(( $(now_period) + 1 ))" farm:farm-pv2 sun:sun-home
q=$(( $(now_period) + 2 ))
say "a bid paid partly in tokens: sun bids for 2 kWh of farm's PV in period $q and commits 0.5 token"
"$GRIDPACT" tx offer --node "$NODE" --key "$work/farm.json" --meter "$(meter_id "$work/farm-pv2.json")" \
  --period "$q" --qty 2000 --price 90000 | jq -e '.receipt.ok' >/dev/null
"$GRIDPACT" tx bid --node "$NODE" --key "$work/sun.json" --meter "$(meter_id "$work/sun-home.json")" \
  --period "$q" --qty 2000 --price 100000 > "$work/bid.json"
order=$(jq -r '.id // .tx_id' "$work/bid.json")
"$GRIDPACT" tx spend-tokens --node "$NODE" --key "$work/sun.json" --order "$order" --amount 500000 | jq -c '.receipt.events[].data'
refuse NOT_OWN_BID "$GRIDPACT" tx spend-tokens --node "$NODE" --key "$work/duo.json" --order "$order" --amount 1
refuse ALREADY_COMMITTED "$GRIDPACT" tx spend-tokens --node "$NODE" --key "$work/sun.json" --order "$order" --amount 1
before_reading "$q" farm:farm-pv2 sun:sun-home
until [ "$(now_period)" -gt "$q" ]; do sleep 0.3; done
# Counted before the readings: the block of the last one settles the period.
cash=$("$GRIDPACT" query --node "$NODE" module "bank/accounts/$(pk "$work/sun.json")" | jq '.balance + .locked')
reading farm farm-pv2 "$q" 0 2000
reading sun sun-home "$q" 2000 0
echo "settling ..."
while "$GRIDPACT" query --node "$NODE" module "tokens/commitments/$order" >/dev/null 2>&1; do sleep 0.5; done
"$GRIDPACT" query --node "$NODE" settlement --period "$q" --account "$(pk "$work/sun.json")" | jq -c '{bought_wh, received_wh, paid}'
paid=$("$GRIDPACT" query --node "$NODE" settlement --period "$q" --account "$(pk "$work/sun.json")" | jq .paid)
after=$("$GRIDPACT" query --node "$NODE" module "bank/accounts/$(pk "$work/sun.json")" | jq '.balance + .locked')
echo "sun paid $paid for its energy; the pool paid back $((after - cash + paid)) for 0.5 token burned"
[ $((after - cash + paid)) = 50000 ]

say "invariants: minted - burned = held; the pool's currency accounted for"
"$GRIDPACT" query --node "$NODE" module tokens/supply | jq -c . | tee "$work/supply.json"
"$GRIDPACT" query --node "$NODE" token-pool | jq -c . | tee "$work/pool.json"
held=0
for who in sun duo farm; do held=$((held + $("$GRIDPACT" query --node "$NODE" tokens "$(pk "$work/$who.json")" | jq .balance))); done
[ "$(jq .held "$work/supply.json")" = "$held" ]
jq -e '.funded - .redeemed - .reimbursed - .drained == .balance' "$work/pool.json" >/dev/null
echo "incentives example: ok"
