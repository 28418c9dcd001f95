#!/usr/bin/env bash
# A development cluster on loopback: 3 etcd members and N GridPact nodes (default 3).
#   scripts/cluster.sh up DIR [--nodes N]   start; writes DIR/nodes.txt (one API URL a line,
#                                            node 1 first), DIR/node-<i>.pid, DIR/keys/
#                                            (node keys, funded alice.json and issuer.json,
#                                            genesis.toml); nodes 2..N join the validator
#                                            set through a governance proposal
#   scripts/cluster.sh start-node DIR I     (re)start node I as `up` did
#   scripts/cluster.sh down DIR              stop them all
# GRIDPACT (default build/apps/gridpact/gridpact) and CLUSTER_LEASE_TTL (seconds, default 3)
# may be set. Development only: keys lie in plain files and nothing is TLS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
GRIDPACT=${GRIDPACT:-$root/build/apps/gridpact/gridpact}
usage() { sed -n 2,10p "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1 dir=$2
shift 2

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for() {  # wait_for SECONDS COMMAND...: until COMMAND succeeds
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt "$end" ] || return 1
    sleep 0.1
  done
}

start_node() {  # start_node I: node I as recorded in DIR/cluster.env
  # shellcheck disable=SC1091
  source "$dir/cluster.env"
  local i=$1 port_var="NODE_PORT_$1" args=()
  local data=$dir/node-$i port=${!port_var}
  if [ "$i" -gt 1 ]; then
    args=(--genesis "$dir/keys/genesis.toml" --validator-key "$dir/keys/node-$i.json")
  fi
  rm -f "$data.port"
  "$GRIDPACT" node --data "$data" --listen "127.0.0.1:$port" --port-file "$data.port" \
    --cluster "$ETCD" \
    --cluster-lease-ttl "${CLUSTER_LEASE_TTL:-3}" "${args[@]}" >>"$data.log" 2>&1 &
  echo $! >"$dir/node-$i.pid"
  wait_for 30 test -s "$data.port" || { tail -20 "$data.log" >&2; echo "node $i did not start" >&2; return 1; }
}

up() {
  local nodes=3
  [ "${1:-}" = --nodes ] && { nodes=$2; shift 2; }
  [[ $nodes =~ ^[1-9]$ ]] || { echo "--nodes: 1 to 9" >&2; exit 2; }
  [ -x "$GRIDPACT" ] || { echo "build first: $GRIDPACT not found (or set GRIDPACT)" >&2; exit 2; }
  [ -e "$dir/cluster.env" ] && { echo "$dir holds a cluster already (down it first)" >&2; exit 2; }
  mkdir -p "$dir/keys"
  dir=$(cd "$dir" && pwd)
  # etcd: three members, each a client and a peer port.
  local initial="" endpoints="" i
  declare -a cport pport
  for i in 1 2 3; do
    cport[$i]=$(free_port) pport[$i]=$(free_port)
    initial+="${initial:+,}e$i=http://127.0.0.1:${pport[$i]}"
    endpoints+="${endpoints:+,}127.0.0.1:${cport[$i]}"
  done
  {
    echo "ETCD=etcd://$endpoints"
    for i in 1 2 3; do echo "ETCD_CLIENT_PORT_$i=${cport[$i]}"; echo "ETCD_PEER_PORT_$i=${pport[$i]}"; done
    echo "ETCD_INITIAL=$initial"
    echo "NODES=$nodes"
    for i in $(seq "$nodes"); do echo "NODE_PORT_$i=$(free_port)"; done
  } >"$dir/cluster.env"
  for i in 1 2 3; do start_etcd "$i" new; done
  for i in 1 2 3; do
    wait_for 30 curl -sf "http://127.0.0.1:${cport[$i]}/health" || { echo "etcd $i did not start" >&2; exit 1; }
  done
  # Keys: node 1's is the genesis validator; alice and issuer are funded by genesis.
  for i in $(seq "$nodes"); do "$GRIDPACT" keygen --out "$dir/keys/node-$i.json" >/dev/null; done
  "$GRIDPACT" keygen --out "$dir/keys/alice.json" >/dev/null
  "$GRIDPACT" keygen --out "$dir/keys/issuer.json" >/dev/null
  # Node 1 makes the development chain from these keys (it keeps keys it finds).
  mkdir -p "$dir/node-1/keys"
  cp "$dir/keys/node-1.json" "$dir/node-1/keys/validator.json"
  cp "$dir/keys/alice.json" "$dir/keys/issuer.json" "$dir/node-1/keys/"
  start_node 1
  cp "$dir/node-1/genesis.toml" "$dir/keys/genesis.toml"
  add_validators "$nodes"
  for i in $(seq 2 "$nodes"); do start_node "$i"; done
  # shellcheck disable=SC1091
  source "$dir/cluster.env"
  : >"$dir/nodes.txt"
  for i in $(seq "$nodes"); do
    local port_var="NODE_PORT_$i"
    echo "http://127.0.0.1:${!port_var}" >>"$dir/nodes.txt"
  done
  echo "cluster up: $nodes nodes ($dir/nodes.txt), etcd $ETCD" >&2
}

add_validators() {  # add_validators N: nodes 2..N into the validator set, by governance
  [ "$1" -gt 1 ] || return 0
  # shellcheck disable=SC1091
  source "$dir/cluster.env"
  local url="http://127.0.0.1:$NODE_PORT_1" add=() i id
  for i in $(seq 2 "$1"); do add+=(--add-validator "$(jq -r .public_key "$dir/keys/node-$i.json")"); done
  # The development chain's members are its validator, issuer and alice; threshold 2.
  id=$("$GRIDPACT" tx propose --node "$url" --key "$dir/keys/alice.json" "${add[@]}" \
    --memo "cluster nodes 2-$1" | jq -er '.receipt.events[] | select(.type == "governance/proposed") | .data.proposal') ||
    { echo "proposing the validators failed" >&2; return 1; }
  for k in alice issuer; do
    "$GRIDPACT" tx vote --node "$url" --key "$dir/keys/$k.json" --proposal "$id" --yes | jq -e .receipt.ok >/dev/null ||
      { echo "voting for the validators failed" >&2; return 1; }
  done
  [ "$("$GRIDPACT" query --node "$url" validators | jq '.validators | length')" -eq "$1" ] ||
    { echo "the validator set does not hold the $1 nodes" >&2; return 1; }
}

start_etcd() {  # start_etcd I new|existing
  # shellcheck disable=SC1091
  source "$dir/cluster.env"
  local c="ETCD_CLIENT_PORT_$1" p="ETCD_PEER_PORT_$1"
  etcd --name "e$1" --data-dir "$dir/etcd-$1" \
    --listen-client-urls "http://127.0.0.1:${!c}" --advertise-client-urls "http://127.0.0.1:${!c}" \
    --listen-peer-urls "http://127.0.0.1:${!p}" --initial-advertise-peer-urls "http://127.0.0.1:${!p}" \
    --initial-cluster "$ETCD_INITIAL" --initial-cluster-state "$2" \
    --initial-cluster-token "gridpact-$$" \
    --auto-compaction-mode revision --auto-compaction-retention 100000 \
    >>"$dir/etcd-$1.log" 2>&1 &
  echo $! >"$dir/etcd-$1.pid"
}

down() {
  local f pid
  for f in "$dir"/node-*.pid "$dir"/etcd-*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill -CONT "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
  done
  for f in "$dir"/node-*.pid "$dir"/etcd-*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  rm -f "$dir/cluster.env"
}

case $cmd in
  up) up "$@" ;;
  start-node) dir=$(cd "$dir" && pwd); start_node "$1" ;;
  start-etcd) dir=$(cd "$dir" && pwd); start_etcd "$1" existing ;;
  down) down ;;
  *) usage ;;
esac
