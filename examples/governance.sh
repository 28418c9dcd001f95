#!/usr/bin/env bash
# Consortium governance end to end: a development chain whose members are its validator,
# issuer and alice keys (threshold 2). A market period settles at the retail tariff; two of
# the three members change the tariff; the next period settles at the new one. Then every
# refusal, each with its code and no change of state, and the other outcomes (rejected,
# expired) with their receipts.
source "$(dirname "$0")/lib.sh"
"$GRIDPACT" tx propose --help >/dev/null 2>&1 || {
  echo "examples/governance.sh needs the governance CLI (gridpact tx propose)" >&2; exit 2; }

say "a development chain with 5-second periods"
data=$work/chain
start_node "$data"
stop_node
sed -i 's/^period_ms = .*/period_ms = 5000/' "$data/genesis.toml"
cat >> "$data/genesis.toml" <<'EOF'
retail_tariff = 300000
settlement_deadline_ms = 20000
tax_ppm = 0
EOF
rm -rf "$data/db"
start_node "$data"
validator=$data/keys/validator.json issuer=$data/keys/issuer.json alice=$data/keys/alice.json
"$GRIDPACT" query --node "$NODE" members | jq -c '{threshold, members: [.members[] | .[0:16] + "..."]}'
for k in validator issuer alice; do echo "$k: $(pk "$data/keys/$k.json" | cut -c1-16)..."; done

meter_id() { jq -r .public_key "$1" | xxd -r -p | sha256sum | cut -d' ' -f1; }
declare -A src=([solar]=pv [home]=consumer)
for who in solar home; do
  "$GRIDPACT" keygen --out "$work/$who.json" >/dev/null
  "$GRIDPACT" keygen --out "$work/$who-meter.json" >/dev/null
  "$GRIDPACT" tx transfer --node "$NODE" --key "$alice" --to "$(pk "$work/$who.json")" --amount 50000000 | jq -e '.receipt.ok' >/dev/null
  "$GRIDPACT" tx meter-register --node "$NODE" --key "$work/$who.json" --platform virtual \
    --meter-key "$work/$who-meter.json" --microgrid north --source "${src[$who]}" | jq -e '.receipt.ok' >/dev/null
done
# trade_period N: the Nth period traded. The home buys 1000 Wh of solar at 100000/kWh; the
# solar meter delivers only 600 Wh, so the home takes 400 Wh from the grid at the retail
# tariff. Each meter also reports every period since its last reading (nothing used), since
# a period settles from contiguous readings. Prints the home's statement.
reading() {  # reading WHO PERIOD SEQ IMPORT EXPORT (cumulative registers)
  "$GRIDPACT" tx reading --node "$NODE" --key "$work/$1.json" --platform virtual --meter-key "$work/$1-meter.json" \
    --period "$2" --seq "$3" --import "$4" --export "$5" > "$work/rd.json" 2>/dev/null ||
    { cat "$work/rd.json" >&2; exit 1; }
}
trade_period() {
  local n=$1 period=$(( $(date +%s%3N) / 5000 + 2 ))
  "$GRIDPACT" tx offer --node "$NODE" --key "$work/solar.json" --meter "$(meter_id "$work/solar-meter.json")" \
    --period "$period" --qty 1000 --price 100000 | jq -e '.receipt.ok' >/dev/null
  "$GRIDPACT" tx bid --node "$NODE" --key "$work/home.json" --meter "$(meter_id "$work/home-meter.json")" \
    --period "$period" --qty 1000 --price 100000 | jq -e '.receipt.ok' >/dev/null
  until "$GRIDPACT" query --node "$NODE" price --period "$period" >/dev/null 2>&1; do sleep 0.5; done
  local exported=$((600 * (n - 1))) imported=$((1000 * (n - 1))) s_solar s_home
  # Each meter first reports the periods since its last reading, or since its registration
  # (catch_up, examples/lib.sh): a period settles from contiguous readings.
  s_solar=$(catch_up "$work/solar.json" "$work/solar-meter.json" "$period")
  s_home=$(catch_up "$work/home.json" "$work/home-meter.json" "$period")
  until [ $(( $(date +%s%3N) / 5000 )) -gt "$period" ]; do sleep 0.5; done
  reading solar "$period" "$s_solar" 0 $((exported + 600))
  reading home "$period" "$s_home" $((imported + 1000)) 0
  until "$GRIDPACT" query --node "$NODE" settlement --period "$period" --account "$(pk "$work/home.json")" > "$work/st.json" 2>/dev/null &&
    jq -e .settled "$work/st.json" >/dev/null; do sleep 0.5; done
  jq -c --arg p "$period" '{period: ($p | tonumber), bought_wh, received_wh, grid_wh, paid}' "$work/st.json"
}

say "period 1 at the retail tariff 300000/kWh: 600 Wh x 100000 + 400 Wh x 300000 = 180000"
trade_period 1 | tee "$work/p1.json"
[ "$(jq .paid "$work/p1.json")" = 180000 ]

say "alice proposes a retail tariff of 450000 (proposing is not a vote)"
"$GRIDPACT" tx propose --node "$NODE" --key "$alice" --set market.retail_tariff=450000 \
  --deadline-blocks 200 --memo "winter tariff" | jq -c '.receipt | {ok, events: [.events[].data]}'
"$GRIDPACT" query --node "$NODE" proposal 0 | jq -c '{id, status, changes, votes, deadline}'
say "alice votes yes: one of two, still open"
"$GRIDPACT" tx vote --node "$NODE" --key "$alice" --proposal 0 --yes | jq -c '[.receipt.events[].data]'
"$GRIDPACT" query --node "$NODE" params | jq -c '{"market.retail_tariff"}'
say "the issuer votes yes: two of three, passed and executed in that block"
"$GRIDPACT" tx vote --node "$NODE" --key "$issuer" --proposal 0 --yes | jq -c '[.receipt.events[] | {type, data}]'
"$GRIDPACT" query --node "$NODE" params | jq -c '{"market.retail_tariff"}'
"$GRIDPACT" query --node "$NODE" params | jq -e '."market.retail_tariff" == 450000' >/dev/null

say "period 2 at the new tariff: 600 Wh x 100000 + 400 Wh x 450000 = 240000"
trade_period 2 | tee "$work/p2.json"
[ "$(jq .paid "$work/p2.json")" = 240000 ]

say "refused, each with its code, nothing changed"
refuse() {
  local want=$1; shift
  if "$@" > "$work/r.json" 2>/dev/null; then echo "accepted: $*" >&2; exit 1; fi
  jq -c '.receipt // .error | {code, code_name: (.code_name // .name), message}' "$work/r.json"
  [ "$(jq -r '.receipt.code_name // .error.name' "$work/r.json")" = "$want" ] || { echo "wanted $want" >&2; exit 1; }
}
before=$("$GRIDPACT" query --node "$NODE" proposals | jq length)
params_before=$("$GRIDPACT" query --node "$NODE" params | jq -c .)
refuse NOT_MEMBER "$GRIDPACT" tx propose --node "$NODE" --key "$work/home.json" --set market.retail_tariff=1
refuse UNKNOWN_PARAMETER "$GRIDPACT" tx propose --node "$NODE" --key "$alice" --set market.no_such_tariff=1
refuse BAD_PARAM_VALUE "$GRIDPACT" tx propose --node "$NODE" --key "$alice" --set market.retail_tariff=99999999999999
refuse BAD_PARAM_VALUE "$GRIDPACT" tx propose --node "$NODE" --key "$alice" --set market.retail_tariff=cheap
refuse BAD_PARAM_VALUE "$GRIDPACT" tx propose --node "$NODE" --key "$alice" --set market.rule=pay-what-you-like
refuse MEMBERS_BELOW_THRESHOLD "$GRIDPACT" tx propose --node "$NODE" --key "$alice" --threshold 4
refuse MEMBERS_BELOW_THRESHOLD "$GRIDPACT" tx propose --node "$NODE" --key "$alice" \
  --remove-member "$(pk "$validator")" --remove-member "$(pk "$issuer")"
sets=(); for i in $(seq 17); do sets+=(--set market.retail_tariff=$i); done
refuse FIELD_TOO_LONG "$GRIDPACT" tx propose --node "$NODE" --key "$alice" "${sets[@]}"
refuse FIELD_TOO_LONG "$GRIDPACT" tx propose --node "$NODE" --key "$alice" --set market.retail_tariff=1 --memo "$(head -c 300 /dev/zero | tr '\0' m)"
"$GRIDPACT" tx propose --node "$NODE" --key "$alice" --set market.feed_in_tariff=90000 --deadline-blocks 200 | jq -e '.receipt.ok' >/dev/null
refuse NOT_MEMBER "$GRIDPACT" tx vote --node "$NODE" --key "$work/home.json" --proposal 1 --yes
"$GRIDPACT" tx vote --node "$NODE" --key "$alice" --proposal 1 --no | jq -e '.receipt.ok' >/dev/null
refuse DUPLICATE_VOTE "$GRIDPACT" tx vote --node "$NODE" --key "$alice" --proposal 1 --no
refuse PROPOSAL_CLOSED "$GRIDPACT" tx vote --node "$NODE" --key "$validator" --proposal 0 --yes
refuse PROPOSAL_NOT_FOUND "$GRIDPACT" tx vote --node "$NODE" --key "$alice" --proposal 99 --yes
[ "$("$GRIDPACT" query --node "$NODE" proposals | jq length)" = $((before + 1)) ]  # only the valid one
[ "$("$GRIDPACT" query --node "$NODE" params | jq -c .)" = "$params_before" ]

say "rejected once it cannot pass: alice changed her mind to yes, then two no votes"
"$GRIDPACT" tx vote --node "$NODE" --key "$alice" --proposal 1 --yes | jq -e '.receipt.ok' >/dev/null
"$GRIDPACT" tx vote --node "$NODE" --key "$issuer" --proposal 1 --no | jq -e '.receipt.ok' >/dev/null
"$GRIDPACT" tx vote --node "$NODE" --key "$validator" --proposal 1 --no | jq -c '[.receipt.events[].data]'
"$GRIDPACT" query --node "$NODE" proposal 1 | jq -c '{id, status, votes}'
[ "$("$GRIDPACT" query --node "$NODE" proposal 1 | jq -r .status)" = rejected ]

say "expired at its deadline: a proposal open for 2 blocks"
"$GRIDPACT" tx propose --node "$NODE" --key "$issuer" --add-measurement "$(printf 'firmware 2' | sha256sum | cut -d' ' -f1)" \
  --deadline-blocks 2 | jq -e '.receipt.ok' >/dev/null
until [ "$("$GRIDPACT" query --node "$NODE" proposal 2 | jq -r .status)" = expired ]; do sleep 0.5; done
refuse PROPOSAL_CLOSED "$GRIDPACT" tx vote --node "$NODE" --key "$alice" --proposal 2 --yes

say "nothing frozen at genesis: the zone fee matrix and the commodities change by proposal"
"$GRIDPACT" tx propose --node "$NODE" --key "$alice" --set-fee north:north=0 \
  --set-fee north:south=5000 --set-fee south:south=0 --set-fee south:north=7000 \
  --add-commodity heat --deadline-blocks 200 | jq -e '.receipt.ok' >/dev/null
"$GRIDPACT" tx vote --node "$NODE" --key "$alice" --proposal 3 --yes | jq -e '.receipt.ok' >/dev/null
"$GRIDPACT" tx vote --node "$NODE" --key "$validator" --proposal 3 --yes | jq -e '.receipt.ok' >/dev/null
"$GRIDPACT" query --node "$NODE" module market/params | jq -c '{commodities, fees}' | tee "$work/shape.json"
jq -e '.fees.north.south == 5000 and .fees.south.north == 7000 and (.commodities | index("heat"))' \
  "$work/shape.json" >/dev/null
refuse BAD_MARKET_SHAPE "$GRIDPACT" tx propose --node "$NODE" --key "$alice" --set-fee east:north=1

say "every proposal"
"$GRIDPACT" query --node "$NODE" proposals | jq -c '.[] | {id, status, changes, votes: [.votes[].choice], deadline}'

say "proposals and votes mirrored in the SQL read model, checked against the chain"
stop_node
"$GRIDPACT" db sync --data "$data" --db "sqlite:$work/readmodel.db" | jq -c .
"$GRIDPACT" db verify --data "$data" --db "sqlite:$work/readmodel.db" |
  jq -c '{ok, proposals: .tables.proposals, proposal_votes: .tables.proposal_votes}' | tee "$work/verify.json"
jq -e '.ok and .proposals.db == 4 and .proposal_votes.db == 7' "$work/verify.json" >/dev/null
echo "governance example: ok"
