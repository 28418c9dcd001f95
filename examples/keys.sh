#!/usr/bin/env bash
# Key files encrypted under a passphrase: a development node whose keys are all written
# encrypted (GRIDPACT_KEY_PASSPHRASE_FILE), a transfer signed with one, the node refused
# without the passphrase (KEY_LOCKED) or with a wrong one (KEY_AUTH_FAILED), a plain key
# encrypted in place and back. Each unlock costs about a second of CPU (Argon2id).
source "$(dirname "$0")/lib.sh"

data=$work/chain
printf 'correct horse battery staple\n' > "$work/passphrase"
chmod 600 "$work/passphrase"
export GRIDPACT_KEY_PASSPHRASE_FILE=$work/passphrase

say "a development node whose keys are written encrypted"
start_node "$data"
jq -c '{public_key, encrypted_seed: (.encrypted_seed | {kdf, opslimit, memlimit, cipher})}' \
  "$data/keys/validator.json"
for k in validator issuer alice; do
  jq -e 'has("encrypted_seed") and (has("seed") | not)' "$data/keys/$k.json" >/dev/null
  [ "$(stat -c %a "$data/keys/$k.json")" = 600 ]
done

say "alice (an encrypted key) pays bob (a new key, encrypted too)"
"$GRIDPACT" keygen --out "$work/bob.json" | jq -c .
"$GRIDPACT" tx transfer --node "$NODE" --key "$data/keys/alice.json" --to "$(pk "$work/bob.json")" \
  --amount 5000000 | jq -c '.receipt | {height, code_name}' | tee "$work/t1.json"
[ "$(jq -r .code_name "$work/t1.json")" = OK ]
stop_node

say "refused: no passphrase, then a wrong one"
if (unset GRIDPACT_KEY_PASSPHRASE_FILE
    "$GRIDPACT" node --data "$data" --listen 127.0.0.1:0 > "$work/locked.json" 2>/dev/null); then
  echo "the node started without the passphrase!" >&2; exit 1
fi
jq -c .error "$work/locked.json"
[ "$(jq -r .error.name "$work/locked.json")" = KEY_LOCKED ]
printf 'wrong\n' > "$work/wrong"
if GRIDPACT_KEY_PASSPHRASE_FILE=$work/wrong \
    "$GRIDPACT" node --data "$data" --listen 127.0.0.1:0 > "$work/wrong.json" 2>/dev/null; then
  echo "the node started with a wrong passphrase!" >&2; exit 1
fi
jq -c .error "$work/wrong.json"
[ "$(jq -r .error.name "$work/wrong.json")" = KEY_AUTH_FAILED ]

say "a plain key encrypted in place, and back"
(unset GRIDPACT_KEY_PASSPHRASE_FILE; "$GRIDPACT" keygen --out "$work/carol.json" | jq -c .)
jq -e 'has("seed")' "$work/carol.json" >/dev/null
"$GRIDPACT" keys encrypt --key "$work/carol.json" | jq -c .
jq -e 'has("encrypted_seed") and (has("seed") | not)' "$work/carol.json" >/dev/null
"$GRIDPACT" keys decrypt --key "$work/carol.json" | jq -c .
jq -e 'has("seed")' "$work/carol.json" >/dev/null

say "the node starts again with the passphrase; bob's balance"
start_node "$data"
"$GRIDPACT" query --node "$NODE" account "$(pk "$work/bob.json")" | jq -c .modules.bank \
  | tee "$work/bob-account.json"
[ "$(jq -r .balance "$work/bob-account.json")" = 5000000 ]
say "done"
