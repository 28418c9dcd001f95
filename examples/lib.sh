# Shared by the example scripts: find the gridpact binary, start a fresh node on a free
# loopback port, stop it on exit. Source it; do not run it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GRIDPACT=${GRIDPACT:-$root/build/apps/gridpact/gridpact}
[ -x "$GRIDPACT" ] || { echo "build first: $GRIDPACT not found (or set GRIDPACT)" >&2; exit 2; }
command -v jq >/dev/null || { echo "examples need jq (scripts/install-deps.sh installs it)" >&2; exit 2; }

work=$(mktemp -d /tmp/gridpact-example-XXXXXX)
node_pid=""
cleanup() {
  [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# start_node DIR: a development chain in DIR; sets NODE (the API URL).
start_node() {
  local data=$1
  rm -f "$work/port"
  "$GRIDPACT" node --data "$data" --listen 127.0.0.1:0 --port-file "$work/port" 2>"$work/node.log" &
  node_pid=$!
  # Up to 30 s: a node unlocking encrypted keys spends about a second of CPU on each.
  for _ in $(seq 300); do [ -s "$work/port" ] && break; sleep 0.1; done
  [ -s "$work/port" ] || { cat "$work/node.log" >&2; echo "node did not start" >&2; exit 1; }
  NODE="http://127.0.0.1:$(cat "$work/port")"
}

stop_node() {
  kill "$node_pid"
  wait "$node_pid" || true
  node_pid=""
}

say() { printf '\n== %s\n' "$*"; }
pk() { jq -r .public_key "$1"; }

# catch_up KEY_FILE METER_KEY_FILE PERIOD: readings of a virtual meter's unchanged registers
# for every period from its registration period (or after its last reading) to PERIOD - 1.
# A first reading counts only for the registration period and a period settles from
# contiguous readings, so a meter that starts reporting later reports the quiet periods
# first. Prints the sequence number its reading of PERIOD takes.
catch_up() {
  local key=$1 meter_key=$2 to=$3 id m from n imp exp q
  id=$(jq -r .public_key "$meter_key" | xxd -r -p | sha256sum | cut -d' ' -f1)
  m=$("$GRIDPACT" query --node "$NODE" module "meters/meter/$id")
  from=$(jq -r 'if .last_period != null then .last_period + 1 else .registered_period end' <<<"$m")
  n=$(jq -r '.last_seq // 0' <<<"$m")
  imp=$(jq -r '.import_wh // 0' <<<"$m")
  exp=$(jq -r '.export_wh // 0' <<<"$m")
  for q in $(seq "$from" $((to - 1))); do
    n=$((n + 1))
    "$GRIDPACT" tx reading --node "$NODE" --key "$key" --platform virtual --meter-key "$meter_key" \
      --period "$q" --seq "$n" --import "$imp" --export "$exp" | jq -e '.receipt.ok' >/dev/null
  done
  echo $((n + 1))
}
