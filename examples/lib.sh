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
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
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
