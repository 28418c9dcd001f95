#!/usr/bin/env bash
# Agreements end to end on a development node with a SQL read model: an owner lists four
# generation systems (each measured by a virtual meter), hosts list premises, matching
# ranks the pairs, and the four templates of the paper (lease, lease-to-own, PPA, surplus
# sharing) are proposed, signed by every party, billed from signed meter readings and run
# to the end of their term. Then bad input, each refused with its code, ratings, and
# `gridpact db verify` comparing the read model with the chain.
#
# The chain here settles meters every 2 seconds; the terms below start at the first
# settlement period after the meters' registration, with 4-second billing periods (two
# settlement periods), and are proposed once four periods of readings are in, so that
# every period bills as soon as the last party signs. (A meter's first reading counts only
# for its registration period, so readings cannot be back-dated before it.)
source "$(dirname "$0")/lib.sh"

data=$work/chain
db="sqlite:$work/readmodel.db"
start_node "$data"
stop_node
sed -i 's/^period_ms = .*/period_ms = 2000/' "$data/genesis.toml"
rm -rf "$data/db"
rm -f "$work/port"
"$GRIDPACT" node --data "$data" --listen 127.0.0.1:0 --port-file "$work/port" --db "$db" 2>"$work/node.log" &
node_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { cat "$work/node.log" >&2; echo "node did not start" >&2; exit 1; }
NODE="http://127.0.0.1:$(cat "$work/port")"
say "node at $NODE, SQL read model in $db"

G() { "$GRIDPACT" "$@"; }
T() { local cmd=$1; shift; G tx "$cmd" --node "$NODE" "$@"; }
Q() { G query --node "$NODE" "$@"; }
ok() { jq -e '.receipt.ok' >/dev/null || { echo "transaction failed" >&2; exit 1; }; }
expect_code() {  # expect_code NAME FILE: refused with NAME (in the receipt or at admission)
  local got
  got=$(jq -r '.receipt.code_name // .error.name' "$2")
  echo "refused: $got ($(jq -r '.receipt.message // .error.message' "$2"))"
  [ "$got" = "$1" ] || { echo "expected $1" >&2; exit 1; }
}

owner=$data/keys/alice.json
issuer=$data/keys/issuer.json
OWNER=$(pk "$owner")
for who in host1 host2 host3 host4 host5 dso; do G keygen --out "$work/$who.json" >/dev/null; done
for who in host1 host2 host3 host4 dso; do
  T mint --key "$issuer" --to "$(pk "$work/$who.json")" --amount 200000000 | ok
done
DSO=$(pk "$work/dso.json")

meter() {  # meter NAME OWNER_KEY SOURCE: registers a virtual meter, prints its id
  G keygen --out "$work/$1.json" >/dev/null
  T meter-register --key "$2" --platform virtual --meter-key "$work/$1.json" --microgrid mg-north \
    --source "$3" 2>/dev/null | jq -r '.receipt.events[0].data.meter'
}
now_period() { echo $(( $(date +%s%3N) / 2000 )); }
readings() {  # readings METER_KEY IMPORT_PER_PERIOD EXPORT_PER_PERIOD: periods first..first+3
  local s
  s=$(catch_up "$owner" "$work/$1.json" "$first")  # quiet periods since registration
  for i in 0 1 2 3; do
    T reading --key "$owner" --platform virtual --meter-key "$work/$1.json" --period $((first + i)) \
      --seq $((s + i)) --import $(( (i + 1) * $2 )) --export $(( (i + 1) * $3 )) 2>/dev/null | ok
  done
}

say "listing: five systems with their meters, five premises"
m=()
for i in 1 2 3 4 5; do m[$i]=$(meter "gen$i" "$owner" pv); done
c1=$(meter conn1 "$work/host1.json" consumer)
c4=$(meter conn4 "$work/host4.json" consumer)
for i in 1 2 3 4 5; do
  T asset-register --key "$owner" --type pv --capacity-w $((3000 + 1000 * i)) --meter "${m[$i]}" \
    --microgrid mg-north --lat-e6 $((52370000 + 1000 * i)) --lon-e6 4890000 --price 250000 --name "pv-$i" | ok
done
T premises-register --key "$work/host1.json" --area-m2 40 --lat-e6 52371000 --lon-e6 4891000 --prefer pv --meter "$c1" --name farm | ok
T premises-register --key "$work/host2.json" --area-m2 30 --lat-e6 52372000 --lon-e6 4892000 --prefer pv --name school | ok
T premises-register --key "$work/host3.json" --area-m2 50 --lat-e6 52375000 --lon-e6 4893000 --name depot | ok
T premises-register --key "$work/host4.json" --area-m2 40 --lat-e6 52374000 --lon-e6 4890500 --meter "$c4" --name workshop | ok
T premises-register --key "$work/host5.json" --area-m2 40 --lat-e6 52374000 --lon-e6 4890500 --name "empty wallet" | ok
Q asset 1 | jq -c '{id, type, capacity_w, listed, owner_rating}'

say "matching: listed systems for the farm (node state) and the same from the SQL read model"
Q match --premises 1 | jq -c '.matches[] | {asset, score, distance_m}'
sleep 1.5  # the read model follows the chain from its own thread
Q match --premises 1 --db "$db" --max-w 6000 | jq -c '.matches[] | {asset, score, distance_m}'
[ "$(Q match --premises 1 | jq '.matches | length')" -ge 3 ]
G query assets --db "$db" --lat-e6 52370000 --lon-e6 4890000 --radius-km 5 | jq -c '[.assets[] | {id, distance_m}]'

first=$(( $(now_period) + 1 ))  # after every meter's registration period
start_ms=$(( first * 2000 ))
until [ "$(now_period)" -ge $((first + 3)) ]; do sleep 0.2; done
say "signed meter readings (settlement periods $first..$((first + 3)))"
for i in 1 2 3 4; do readings "gen$i" 0 800; done   # 800 Wh generated every period
readings conn1 100 200                               # the farm sells 200 Wh of it each
readings conn4 100 300                               # the workshop sells 300 Wh
# The terms' periods have ended and so has the reading lag of the last one (a period):
# billing waits for it, so an agreement signed from now on is billed whole at once.
until [ "$(now_period)" -ge $((first + 5)) ]; do sleep 0.2; done

propose() {  # propose HOST_KEY ARGS...: prints the agreement id
  T agreement-propose --key "$owner" --owner "$OWNER" --host "$(pk "$1")" --start-ms "${START:-$start_ms}" \
    --period-ms 4000 --periods 2 "${@:2}" > "$work/proposal.json"
  jq -e '.receipt.ok' "$work/proposal.json" >/dev/null || { cat "$work/proposal.json" >&2; exit 1; }
  jq -r '.receipt.events[0].data.agreement' "$work/proposal.json"
}
sign() {  # sign KEY ID: signs the terms hash the node shows
  local h
  h=$(Q agreement "$2" | jq -r .terms_hash)
  T agreement-sign --key "$1" --agreement "$2" --terms-hash "$h" | jq -c '.receipt.events[0].data'
}
show() {
  Q agreement "$1" | jq -c '{status, billed_periods, total_paid, arrears_total}'
  Q payments "$1" | jq -c '.payments[] | {period, generated_wh, surplus_wh, billed_wh, energy_charge, rebate, instalment, surplus_revenue, due, status}'
}

say "1. lease: the farm pays 0.25/kWh it uses, 15% comes back as rent, the DSO takes 5%"
lease=$(propose "$work/host1.json" --template lease --asset 1 --premises 1 --price 250000 --rebate-bps 1500 --dso "$DSO" --dso-bps 500)
Q agreement-text "$lease" | jq -r .text
sign "$work/host1.json" "$lease"
Q agreement "$lease" | jq -c '{status, signed_by}'
[ "$(Q agreement "$lease" | jq -r .status)" = proposed ]  # the DSO has not signed yet
sign "$work/dso.json" "$lease"
show "$lease"
# 1600 Wh generated, 400 Wh sold per billing period: 1200 Wh used, 300000 charged, 45000 rebate.
[ "$(Q payments "$lease" | jq '.payments[0].due')" = 255000 ]
[ "$(Q agreement "$lease" | jq -r .status)" = ended ]
Q asset 1 | jq -c '{owner: .owner[0:16], listed}'

say "2. lease-to-own: the school pays 50 units per period, and owns the system at the end"
lto=$(propose "$work/host2.json" --template lease-to-own --asset 2 --premises 2 --instalment 50000000)
sign "$work/host2.json" "$lto"
show "$lto"
[ "$(Q asset 2 | jq -r .owner)" = "$(pk "$work/host2.json")" ]
echo "asset 2 now belongs to the school"

say "3. power purchase agreement: the depot buys up to 1000 Wh per period at 0.20/kWh"
ppa=$(propose "$work/host3.json" --template ppa --asset 3 --premises 3 --price 200000 --volume-wh 1000)
sign "$work/host3.json" "$ppa"
show "$ppa"
[ "$(Q payments "$ppa" | jq '.payments[1].billed_wh')" = 1000 ]

say "4. surplus sharing: the workshop sold 600 Wh per period at 0.12/kWh, 60% goes to the owner"
share=$(propose "$work/host4.json" --template surplus-share --asset 4 --premises 4 --price 120000 --rebate-bps 6000)
sign "$work/host4.json" "$share"
show "$share"
[ "$(Q payments "$share" | jq '.payments[0].due')" = 43200 ]

say "ratings after settled periods (Bayesian average weighted by settled value)"
T rate --key "$work/host2.json" --agreement "$lto" --period 0 --score 5 | jq -c '.receipt.events[0].data'
T rate --key "$owner" --agreement "$lto" --period 1 --score 4 | jq -c '.receipt.events[0].data'
Q rating "$OWNER" | jq -c .

say "bad input, each refused with its code; nothing changes"
T agreement-sign --key "$work/host3.json" --agreement "$lto" --terms-hash "$(Q agreement "$lto" | jq -r .terms_hash)" > "$work/e1.json" || true
expect_code NOT_A_PARTY "$work/e1.json"
T rate --key "$work/host2.json" --agreement "$lto" --period 0 --score 5 > "$work/e2.json" || true
expect_code ALREADY_RATED "$work/e2.json"
T rate --key "$work/host1.json" --agreement "$lease" --period 7 --score 5 > "$work/e3.json" || true
expect_code NO_SETTLED_INTERACTION "$work/e3.json"
T asset-transfer --key "$work/host1.json" --asset 1 --to "$(pk "$work/host1.json")" > "$work/e4.json" || true
expect_code NOT_ASSET_OWNER "$work/e4.json"
G tx agreement-propose --key "$owner" --print --template lease --asset 1 --premises 1 --owner "$OWNER" --host "$(pk "$work/host1.json")" \
  --start-ms "$start_ms" --period-ms 4000 --periods 2 --price 1 | jq '.terms | .energy_shares[0].bps = 9000' > "$work/bad-terms.json"
T agreement-propose --key "$owner" --terms "$work/bad-terms.json" > "$work/e5.json" || true
expect_code SHARES_NOT_100 "$work/e5.json"
future=$(START=$(( ($(date +%s) + 86400) * 1000 )) propose "$work/host1.json" --template lease --asset 1 --premises 1 --price 250000)
sign "$work/host1.json" "$future" >/dev/null
T agreement-execute --key "$work/host1.json" --agreement "$future" > "$work/e6.json" || true
expect_code AGREEMENT_NOT_STARTED "$work/e6.json"
T agreement-terminate --key "$owner" --agreement "$future" | jq -c '.receipt.events[0].data'
# A meter's export serves one agreement at a time: asset 3's meter is the PPA's for the
# same periods (the PPA billed them already), so a second lease of it cannot start.
twice=$(propose "$work/host5.json" --template lease-to-own --asset 3 --premises 5 --instalment 10000000)
T agreement-sign --key "$work/host5.json" --agreement "$twice" \
  --terms-hash "$(Q agreement "$twice" | jq -r .terms_hash)" > "$work/e8.json" || true
expect_code METER_IN_USE "$work/e8.json"
# A host with an empty account: its first period is missed, and paying fails.
broke=$(propose "$work/host5.json" --template lease-to-own --asset 5 --premises 5 --instalment 10000000)
sign "$work/host5.json" "$broke" >/dev/null
Q agreement "$broke" | jq -c '{status, arrears_total, penalty_applied}'
T agreement-pay --key "$work/host5.json" --agreement "$broke" > "$work/e7.json" || true
expect_code INSUFFICIENT_FUNDS "$work/e7.json"
[ "$(Q agreement "$broke" | jq .arrears_total)" -gt 0 ]

say "the read model: agreements of the owner, and db verify against the chain"
height=$(Q health | jq .height)
for _ in $(seq 50); do
  [ "$(curl -s "$NODE/v1/db?q=height" | jq .last_height)" -ge "$height" ] && break; sleep 0.2
done
curl -s "$NODE/v1/db?q=agreements&account=$OWNER" | jq -c '[.agreements[] | {id, kind, status, total_paid}]'
kill "$node_pid"; wait "$node_pid" || true; node_pid=""
G db sync --data "$data" --db "$db" | jq -c .
G db verify --data "$data" --db "$db" | jq -c '{ok, engine, last_height, chain_height, tables}'
say "agreements example finished"
