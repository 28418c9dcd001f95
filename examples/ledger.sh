#!/usr/bin/env bash
# The ledger end to end: a development node, signed transfers, mint and burn, refused
# transactions, a receipt verified offline, a restart, and a full replay of the chain.
source "$(dirname "$0")/lib.sh"

data=$work/chain
start_node "$data"
say "node at $NODE"
"$GRIDPACT" query --node "$NODE" health | jq -c .

alice=$data/keys/alice.json
issuer=$data/keys/issuer.json
"$GRIDPACT" keygen --out "$work/bob.json" >/dev/null
bob=$(pk "$work/bob.json")

say "alice transfers 125 units to bob"
"$GRIDPACT" tx transfer --node "$NODE" --key "$alice" --to "$bob" --amount 125000000 --memo "PV surplus" > "$work/t1.json"
jq -c '.receipt | {height, code_name, events}' "$work/t1.json"

say "the issuer mints 10 units for bob, then burns 1 of its own"
"$GRIDPACT" tx mint --node "$NODE" --key "$issuer" --to "$(pk "$issuer")" --amount 1000000 | jq -c '.receipt.code_name'
"$GRIDPACT" tx mint --node "$NODE" --key "$issuer" --to "$bob" --amount 10000000 | jq -c '.receipt.code_name'
"$GRIDPACT" tx burn --node "$NODE" --key "$issuer" --amount 1000000 | jq -c '.receipt.code_name'

say "refused: bob overdraws, bob mints"
if "$GRIDPACT" tx transfer --node "$NODE" --key "$work/bob.json" --to "$(pk "$alice")" --amount 999000000 > "$work/t2.json"; then
  echo "overdraft was accepted!" >&2; exit 1
fi
jq -c '.receipt | {code, code_name, message}' "$work/t2.json"
[ "$(jq -r .receipt.code_name "$work/t2.json")" = INSUFFICIENT_FUNDS ]
if "$GRIDPACT" tx mint --node "$NODE" --key "$work/bob.json" --to "$bob" --amount 1 > "$work/t3.json"; then
  echo "mint by a non-issuer was accepted!" >&2; exit 1
fi
[ "$(jq -r .receipt.code_name "$work/t3.json")" = NOT_ISSUER ]

say "bob's account, with state proofs against the block's state root"
"$GRIDPACT" query --node "$NODE" account "$bob" > "$work/acct.json"
jq -c '{nonce, bank: .modules.bank, height, proofs: (.state_proofs | length)}' "$work/acct.json"
[ "$(jq -r .modules.bank.balance "$work/acct.json")" = 135000000 ]

say "the receipt of the first transfer, verified offline with the validator key"
"$GRIDPACT" query --node "$NODE" tx "$(jq -r .tx_id "$work/t1.json")" > "$work/bundle.json"
"$GRIDPACT" verify-receipt --bundle "$work/bundle.json" --genesis "$data/genesis.toml" | jq -c .
# A tampered bundle fails.
jq '.bundle.receipt_raw |= (.[0:-2] + "ff")' "$work/bundle.json" > "$work/bad.json"
if "$GRIDPACT" verify-receipt --bundle "$work/bad.json" --genesis "$data/genesis.toml" >/dev/null 2>&1; then
  echo "tampered receipt verified!" >&2; exit 1
fi
echo "tampered receipt rejected"

say "restart: the node resumes from disk"
height=$("$GRIDPACT" query --node "$NODE" health | jq .height)
stop_node
start_node "$data"
after=$("$GRIDPACT" query --node "$NODE" health | jq .height)
echo "height before $height, after restart $after"
[ "$after" -ge "$height" ]
"$GRIDPACT" query --node "$NODE" account "$bob" | jq -e '.modules.bank.balance == 135000000' >/dev/null

say "verify-chain: re-execute every block from genesis"
stop_node
"$GRIDPACT" verify-chain --data "$data" | jq -c .
say "ledger example finished"
