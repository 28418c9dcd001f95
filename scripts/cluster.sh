#!/usr/bin/env bash
# A development cluster on loopback: 3 etcd members and N GridPact nodes (default 3).
#   scripts/cluster.sh up DIR [--nodes N] [--netns] [--tls]
#                                            start; writes DIR/nodes.txt (one API URL a line,
#                                            node 1 first), DIR/node-<i>.pid, DIR/keys/
#                                            (node keys, funded alice.json and issuer.json,
#                                            genesis.toml); nodes 2..N join the validator
#                                            set through a governance proposal. --netns (root):
#                                            each node in its own network namespace, joined
#                                            to the etcd members by a veth pair. --tls: a CA
#                                            in DIR/tls/ (ca.pem), etcd and the nodes' APIs
#                                            over TLS (client certificates for etcd)
#   scripts/cluster.sh start-node DIR I     (re)start node I as `up` did
#   scripts/cluster.sh partition DIR I      (--netns) cut node I off from etcd and clients
#   scripts/cluster.sh heal DIR I           (--netns) join it again
#   scripts/cluster.sh down DIR              stop them all (and remove the namespaces)
# GRIDPACT (default build/apps/gridpact/gridpact) and CLUSTER_LEASE_TTL (seconds, default 3)
# may be set. Development only: keys lie in plain files (the TLS ones too).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
GRIDPACT=${GRIDPACT:-$root/build/apps/gridpact/gridpact}
usage() { sed -n 2,18p "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1 dir=$2
shift 2

# free_ports N: N distinct ports free now, outside the kernel's ephemeral range (below it, or
# above it where it starts low). The nodes and etcd members bind them seconds later (and
# again on a restart); an ephemeral port could be taken meanwhile by any process's outgoing
# connection.
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
low, high = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
bottom, top = (10000, low - 1) if low > 12000 else (high + 1, 65535)
ports = []
for _ in range(10000):  # tries, bounded
    if len(ports) == int(sys.argv[1]):
        break
    port = random.randint(bottom, top)
    if port in ports:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        ports.append(port)
    except OSError:
        pass
    finally:
        s.close()
if len(ports) < int(sys.argv[1]):
    sys.exit("no free ports in %d-%d" % (bottom, top))
print(" ".join(map(str, ports)))
PY
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
  local i=$1 port_var="NODE_PORT_$1" args=() run=() host=127.0.0.1 etcd=$ETCD
  local data=$dir/node-$i port=${!port_var}
  if [ "$i" -gt 1 ]; then
    args=(--genesis "$dir/keys/genesis.toml" --validator-key "$dir/keys/node-$i.json")
  fi
  if [ -n "${NETNS:-}" ]; then  # inside its namespace, reaching etcd over its veth pair
    run=(ip netns exec "${NETNS}n$i") host=$NETNS_NET.$i.2
    etcd=etcd://$NETNS_NET.$i.1:$ETCD_CLIENT_PORT_1,$NETNS_NET.$i.1:$ETCD_CLIENT_PORT_2,$NETNS_NET.$i.1:$ETCD_CLIENT_PORT_3
  fi
  if [ -n "${TLS:-}" ]; then
    args+=(--tls-cert "$dir/tls/node.pem" --tls-key "$dir/tls/node.key"
      --etcd-cacert "$dir/tls/ca.pem" --etcd-cert "$dir/tls/node.pem" --etcd-key "$dir/tls/node.key"
      --cluster-peer-cacert "$dir/tls/ca.pem")
    etcd=${etcd//,/,https://} etcd=${etcd/etcd:\/\//etcd://https://}
  fi
  rm -f "$data.port"
  "${run[@]}" "$GRIDPACT" node --data "$data" --listen "$host:$port" --port-file "$data.port" \
    --cluster "$etcd" \
    --cluster-lease-ttl "${CLUSTER_LEASE_TTL:-3}" "${args[@]}" >>"$data.log" 2>&1 &
  echo $! >"$dir/node-$i.pid"
  wait_for 30 test -s "$data.port" || { tail -20 "$data.log" >&2; echo "node $i did not start" >&2; return 1; }
}

# Node I's namespace ${NETNS}nI and a veth pair: ${NETNS}nIr (here, NET.I.1) and ${NETNS}nIn
# (inside, NET.I.2). The etcd members listen on each NET.I.1 too.
make_netns() {  # make_netns I
  local i=$1 ns="${NETNS}n$1"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "${ns}r" type veth peer name "${ns}n" netns "$ns"
  ip addr add "$NETNS_NET.$i.1/24" dev "${ns}r"
  ip link set "${ns}r" up
  ip -n "$ns" addr add "$NETNS_NET.$i.2/24" dev "${ns}n"
  ip -n "$ns" link set "${ns}n" up
  # The nodes reach each other (a leader's attestation, peer catch-up) through this
  # namespace: the others' addresses are routed over the veth pair.
  ip -n "$ns" route add "$NETNS_NET.0.0/16" via "$NETNS_NET.$i.1"
}

# A CA (DIR/tls/ca.pem) and one certificate for every etcd member and node, server and
# client use, naming 127.0.0.1 (and the namespaces' addresses).
make_tls() {  # make_tls NODES
  local t=$dir/tls san="IP:127.0.0.1,DNS:localhost" n
  mkdir -p "$t"
  if [ -n "${NETNS_NET:-}" ]; then
    for n in $(seq "$1"); do san+=",IP:$NETNS_NET.$n.1,IP:$NETNS_NET.$n.2"; done
  fi
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj /CN=gridpact-dev-ca -keyout "$t/ca.key" -out "$t/ca.pem" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' \
    "$san" >"$t/node.ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout "$t/node.key" -out "$t/node.csr" 2>/dev/null
  openssl x509 -req -days 30 -in "$t/node.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" \
    -CAcreateserial -extfile "$t/node.ext" -out "$t/node.pem" 2>/dev/null
}

up() {
  local nodes=3 netns="" tls=""
  while [ $# -gt 0 ]; do
    case $1 in
      --nodes) nodes=$2; shift 2 ;;
      --netns) netns=1; shift ;;
      --tls) tls=1; shift ;;
      *) usage ;;
    esac
  done
  [[ $nodes =~ ^[1-9]$ ]] || { echo "--nodes: 1 to 9" >&2; exit 2; }
  [ -x "$GRIDPACT" ] || { echo "build first: $GRIDPACT not found (or set GRIDPACT)" >&2; exit 2; }
  [ -e "$dir/cluster.env" ] && { echo "$dir holds a cluster already (down it first)" >&2; exit 2; }
  mkdir -p "$dir/keys"
  dir=$(cd "$dir" && pwd)
  # etcd: three members, each a client and a peer port.
  local initial="" endpoints="" i ports
  declare -a cport pport
  read -r -a ports <<<"$(free_ports $((6 + nodes)))"
  [ ${#ports[@]} -eq $((6 + nodes)) ] || { echo "cannot find $((6 + nodes)) free ports" >&2; exit 1; }
  for i in 1 2 3; do
    cport[$i]=${ports[$((2 * i - 2))]} pport[$i]=${ports[$((2 * i - 1))]}
    initial+="${initial:+,}e$i=http://127.0.0.1:${pport[$i]}"
    endpoints+="${endpoints:+,}127.0.0.1:${cport[$i]}"
  done
  {
    echo "ETCD=etcd://$endpoints"
    for i in 1 2 3; do echo "ETCD_CLIENT_PORT_$i=${cport[$i]}"; echo "ETCD_PEER_PORT_$i=${pport[$i]}"; done
    echo "ETCD_INITIAL=$initial"
    echo "NODES=$nodes"
    for i in $(seq "$nodes"); do echo "NODE_PORT_$i=${ports[$((5 + i))]}"; done
    if [ -n "$netns" ]; then
      echo "NETNS=gp$$"
      echo "NETNS_NET=10.$((RANDOM % 100 + 150))"
    fi
    [ -n "$tls" ] && echo "TLS=1"
  } >"$dir/cluster.env"
  # shellcheck disable=SC1091
  source "$dir/cluster.env"
  if [ -n "$netns" ]; then
    for i in $(seq "$nodes"); do make_netns "$i"; done
    # Forwarding between the namespaces, as it was restored by `down`.
    echo "IP_FORWARD_WAS=$(cat /proc/sys/net/ipv4/ip_forward)" >>"$dir/cluster.env"
    echo 1 >/proc/sys/net/ipv4/ip_forward 2>/dev/null || echo "cannot enable IP forwarding: nodes reach only etcd" >&2
  fi
  if [ -n "$tls" ]; then make_tls "$nodes"; fi
  for i in 1 2 3; do start_etcd "$i" new; done
  local curl_tls=() scheme=http
  if [ -n "$tls" ]; then
    curl_tls=(--cacert "$dir/tls/ca.pem" --cert "$dir/tls/node.pem" --key "$dir/tls/node.key")
    scheme=https
  fi
  for i in 1 2 3; do
    wait_for 30 curl -sf "${curl_tls[@]}" "$scheme://127.0.0.1:${cport[$i]}/health" ||
      { echo "etcd $i did not start" >&2; exit 1; }
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
    local host=127.0.0.1
    [ -n "${NETNS:-}" ] && host=$NETNS_NET.$i.2
    echo "$scheme://$host:${!port_var}" >>"$dir/nodes.txt"
  done
  echo "cluster up: $nodes nodes ($dir/nodes.txt), etcd $ETCD" >&2
}

add_validators() {  # add_validators N: nodes 2..N into the validator set, by governance
  [ "$1" -gt 1 ] || return 0
  # shellcheck disable=SC1091
  source "$dir/cluster.env"
  local scheme=http host=127.0.0.1 cli=("$GRIDPACT") add=() i id url
  [ -n "${TLS:-}" ] && scheme=https cli+=(--cacert "$dir/tls/ca.pem")
  [ -n "${NETNS:-}" ] && host=$NETNS_NET.1.2
  url="$scheme://$host:$NODE_PORT_1"
  for i in $(seq 2 "$1"); do add+=(--add-validator "$(jq -r .public_key "$dir/keys/node-$i.json")"); done
  # The development chain's members are its validator, issuer and alice; threshold 2.
  id=$("${cli[@]}" tx propose --node "$url" --key "$dir/keys/alice.json" "${add[@]}" \
    --memo "cluster nodes 2-$1" | jq -er '.receipt.events[] | select(.type == "governance/proposed") | .data.proposal') ||
    { echo "proposing the validators failed" >&2; return 1; }
  for k in alice issuer; do
    "${cli[@]}" tx vote --node "$url" --key "$dir/keys/$k.json" --proposal "$id" --yes | jq -e .receipt.ok >/dev/null ||
      { echo "voting for the validators failed" >&2; return 1; }
  done
  [ "$("${cli[@]}" query --node "$url" validators | jq '.validators | length')" -eq "$1" ] ||
    { echo "the validator set does not hold the $1 nodes" >&2; return 1; }
}

start_etcd() {  # start_etcd I new|existing
  # shellcheck disable=SC1091
  source "$dir/cluster.env"
  local c="ETCD_CLIENT_PORT_$1" p="ETCD_PEER_PORT_$1" listen n scheme=http tls=()
  if [ -n "${TLS:-}" ]; then
    scheme=https
    tls=(--cert-file "$dir/tls/node.pem" --key-file "$dir/tls/node.key"
      --trusted-ca-file "$dir/tls/ca.pem" --client-cert-auth)
  fi
  listen="$scheme://127.0.0.1:${!c}"
  if [ -n "${NETNS:-}" ]; then
    for n in $(seq "$NODES"); do listen+=",$scheme://$NETNS_NET.$n.1:${!c}"; done
  fi
  etcd --name "e$1" --data-dir "$dir/etcd-$1" "${tls[@]}" \
    --listen-client-urls "$listen" --advertise-client-urls "$scheme://127.0.0.1:${!c}" \
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
  if [ -e "$dir/cluster.env" ]; then
    # shellcheck disable=SC1091
    source "$dir/cluster.env"
    if [ -n "${NETNS:-}" ]; then  # the veth pairs go with their namespaces
      for n in $(seq "$NODES"); do ip netns del "${NETNS}n$n" 2>/dev/null || true; done
      [ -z "${IP_FORWARD_WAS:-}" ] || echo "$IP_FORWARD_WAS" >/proc/sys/net/ipv4/ip_forward || true
    fi
  fi
  rm -f "$dir/cluster.env"
}

link() {  # link I up|down: node I's veth pair (--netns clusters)
  # shellcheck disable=SC1091
  source "$dir/cluster.env"
  [ -n "${NETNS:-}" ] || { echo "partition and heal need a cluster started with --netns" >&2; exit 2; }
  ip link set "${NETNS}n${1}r" "$2"
}

case $cmd in
  up) up "$@" ;;
  start-node) dir=$(cd "$dir" && pwd); start_node "$1" ;;
  start-etcd) dir=$(cd "$dir" && pwd); start_etcd "$1" existing ;;
  partition) link "$1" down ;;
  heal) link "$1" up ;;
  down) down ;;
  *) usage ;;
esac
