#!/usr/bin/env bash
# Node attestation: a fresh development node proves which executable it runs, bound to its
# key and to a fresh challenge; `gridpact verify-node` accepts the real measurement (the
# sha256sum of the binary) and rejects a wrong one. Without a TPM the evidence is
# `virtual`, labelled INSECURE, and accepted only with --allow-virtual.
source "$(dirname "$0")/lib.sh"

data=$work/chain
start_node "$data"
say "node at $NODE"

measurement=$(sha256sum "$GRIDPACT" | cut -d' ' -f1)
say "the binary's measurement (sha256sum): $measurement"

say "the node's attestation document"
curl -fsS "$NODE/v1/attestation?challenge=00112233" |
  jq -c '{platform, insecure, node_key, node_key_source, measurement}'

say "verify-node with the real measurement (virtual evidence allowed)"
"$GRIDPACT" verify-node "$NODE" --measurement "$measurement" --allow-virtual > "$work/ok.json"
jq -c . "$work/ok.json"
[ "$(jq -r .verified "$work/ok.json")" = true ]
[ "$(jq -r .node_key "$work/ok.json")" = "$(jq -r .public_key "$data/keys/validator.json")" ]

say "refused: a wrong measurement"
wrong=$(printf 'gridpact 0.0.9' | sha256sum | cut -d' ' -f1)
if "$GRIDPACT" verify-node "$NODE" --measurement "$wrong" --allow-virtual > "$work/bad.json"; then
  echo "a wrong measurement was accepted!" >&2; exit 1
fi
jq -c '{verified, error}' "$work/bad.json"
[ "$(jq -r .error.name "$work/bad.json")" = MEASUREMENT_MISMATCH ]

say "refused: virtual evidence where hardware is required (no --allow-virtual)"
if "$GRIDPACT" verify-node "$NODE" --measurement "$measurement" > "$work/virt.json"; then
  echo "virtual evidence was accepted without --allow-virtual!" >&2; exit 1
fi
jq -c '{verified, error}' "$work/virt.json"
[ "$(jq -r .error.name "$work/virt.json")" = VIRTUAL_NOT_ALLOWED ]

stop_node
echo "node attestation example: ok"
