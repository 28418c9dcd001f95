#!/usr/bin/env bash
# Cluster mode: 3 etcd members and 3 nodes on loopback (scripts/cluster.sh). A transfer
# given to a follower commits on every node; the leader is killed, another takes over, and
# the chain goes on with nothing lost.
source "$(dirname "$0")/lib.sh"
command -v etcd >/dev/null || { echo "needs etcd (scripts/install-deps.sh)" >&2; exit 2; }
cluster=$work/cluster
trap 'bash "$root/scripts/cluster.sh" down "$cluster" 2>/dev/null; cleanup' EXIT
CLUSTER_LEASE_TTL=2 GRIDPACT=$GRIDPACT bash "$root/scripts/cluster.sh" up "$cluster" --nodes 3
mapfile -t nodes < "$cluster/nodes.txt"
keys=$cluster/keys
"$GRIDPACT" keygen --out "$work/bob.json" >/dev/null

leader_node() {  # the index (1-based) of the node that leads now
  local key i
  for _ in $(seq 100); do
    key=$(curl -sf "${nodes[1]}/v1/cluster" | jq -r '.leader.public_key // empty') || true
    for i in "${!nodes[@]}"; do
      [ -n "$key" ] && [ "$(pk "$keys/node-$((i + 1)).json")" = "$key" ] && { echo $((i + 1)); return; }
    done
    sleep 0.2
  done
  echo "nobody leads" >&2; exit 1
}

say "the cluster: leader, lease, and each node's height"
leader=$(leader_node)
curl -sf "${nodes[0]}/v1/cluster" | jq -c '{leader: .leader.api, lease: .leader.lease, nodes: [.nodes[] | {api, height, leading}]}'
follower=$(( leader % 3 + 1 ))

say "alice pays bob through node $follower (a follower): answered once committed"
"$GRIDPACT" tx transfer --node "${nodes[$((follower - 1))]}" --key "$keys/alice.json" \
  --to "$(pk "$work/bob.json")" --amount 5000000 | jq -c '.receipt | {height, code_name}'
for url in "${nodes[@]}"; do
  "$GRIDPACT" query --node "$url" account "$(pk "$work/bob.json")" | jq -c '{node: "'"$url"'", balance: .modules.bank.balance}'
done

say "SIGKILL the leader (node $leader); another takes over within the lease"
kill -9 "$(cat "$cluster/node-$leader.pid")"
for _ in $(seq 100); do
  new=$(curl -sf "${nodes[$((follower - 1))]}/v1/cluster" | jq -r '.leader.api // empty') || true
  [ -n "$new" ] && [ "$new" != "${nodes[$((leader - 1))]}" ] && break
  sleep 0.2
done
echo "new leader: $new"
"$GRIDPACT" tx transfer --node "${nodes[$((follower - 1))]}" --key "$keys/alice.json" \
  --to "$(pk "$work/bob.json")" --amount 5000000 | jq -c '.receipt | {height, code_name}'
balance=$("$GRIDPACT" query --node "${nodes[$((follower - 1))]}" account "$(pk "$work/bob.json")" | jq -r .modules.bank.balance)
echo "bob holds $balance"
[ "$balance" = 10000000 ]
