#!/usr/bin/env bash
# Cluster mode: 3 etcd members and 3 nodes on loopback (scripts/cluster.sh). The validator
# set is governance's; each node checks the leader's attestation before it follows it. A
# transfer given to a follower commits on every node; the leader is killed, another takes
# over, and the chain goes on with nothing lost. A node that allows another executable
# follows no leader.
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

say "the validator set (governance's: cluster.sh added nodes 2 and 3 by a proposal)"
"$GRIDPACT" query --node "${nodes[0]}" validators | jq -c '[.validators[] | .[0:16] + "..."]'
[ "$("$GRIDPACT" query --node "${nodes[0]}" validators | jq '.validators | length')" = 3 ]

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

say "verify-chain on node $follower: every block re-executed, each signed by a key in the set on the state before it"
"$GRIDPACT" verify-chain --data "$cluster/node-$follower" --genesis "$keys/genesis.toml" | jq -c '{verified, blocks}'
"$GRIDPACT" verify-chain --data "$cluster/node-$follower" --genesis "$keys/genesis.toml" | jq -e .verified >/dev/null

say "each follower checked its leaders' attestation (the same executable, virtual on a development chain)"
grep -h "passed its attestation" "$cluster"/node-*.log | sed 's/^\[[^]]*\] //' | sort -u

say "a fourth node that allows only another executable follows no leader"
"$GRIDPACT" keygen --out "$work/node-4.json" >/dev/null
port4=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
source "$cluster/cluster.env"
"$GRIDPACT" node --data "$work/node-4" --listen "127.0.0.1:$port4" --genesis "$keys/genesis.toml" \
  --validator-key "$work/node-4.json" --cluster "$ETCD" \
  --cluster-measurement "$(printf '0%.0s' $(seq 64))" >"$work/node-4.log" 2>&1 &
node4=$!
for _ in $(seq 100); do
  why=$(curl -sf "http://127.0.0.1:$port4/v1/cluster" | jq -r '.this_node.leader_not_attested // empty') || true
  [ -n "$why" ] && break
  sleep 0.2
done
echo "node 4: ${why:0:120}..."
# It applied the blocks of the earlier leader (checked by the nodes that followed it then),
# and none of the current leader's.
sleep 2
h4=$(curl -sf "http://127.0.0.1:$port4/v1/health" | jq .height)
top=$(curl -sf "$new/v1/health" | jq .height)
next_by=$(curl -sf "$new/v1/blocks/$((h4 + 1))" | jq -r .header.proposer)
leader_key=$(curl -sf "$new/v1/cluster" | jq -r .leader.public_key)
echo "node 4 holds $h4 blocks of $top; block $((h4 + 1)) is the current leader's: $([ "$next_by" = "$leader_key" ] && echo yes)"
[[ $why == *MEASUREMENT_MISMATCH* ]]
[ "$h4" -lt "$top" ] && [ "$next_by" = "$leader_key" ]
kill "$node4"; wait "$node4" 2>/dev/null || true
