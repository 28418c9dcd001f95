#!/usr/bin/env bash
# The Python client kit (clients/python) against a fresh node, with no gridpact CLI in the
# loop: register two virtual meters, post an offer and a bid, wait for clearing and
# settlement (meter readings signed by the meters), and verify the bid's receipt and the
# buyer's account offline with nothing but the validator's public key.
source "$(dirname "$0")/lib.sh"
# Debian's python3-nacl is installed for Debian's interpreter, which another on PATH may hide.
py=python3
$py -c 'import nacl' 2>/dev/null || py=/usr/bin/python3
$py -c 'import nacl' 2>/dev/null || { echo "needs python3-nacl (scripts/install-deps.sh)" >&2; exit 2; }

say "a development chain with 5-second settlement periods"
data=$work/chain
start_node "$data"
stop_node
sed -i 's/^period_ms = .*/period_ms = 5000/' "$data/genesis.toml"
printf 'settlement_deadline_ms = 20000\n\n[market.fees.north]\nnorth = 0\n' >> "$data/genesis.toml"
rm -rf "$data/db"
start_node "$data"

PYTHONPATH=$root/clients/python $py - "$NODE" "$data/keys/alice.json" \
  "$(jq -r .public_key "$data/keys/validator.json")" <<'PY'
import sys, time
import gridpact

url, alice_file, validator = sys.argv[1:]
node = gridpact.Client(url)
chain_id = node.chain()["chain_id"]
alice = gridpact.Key.from_file(alice_file)
seller, buyer = gridpact.Key.generate(), gridpact.Key.generate()
seller_meter, buyer_meter = gridpact.Key.generate(), gridpact.Key.generate()


def check(result, what):
    r = result["receipt"]
    print(f"{what}: {r['code_name']}" + (f" ({r['message']})" if r["message"] else ""))
    assert result["status"] == "committed" and r["ok"], result
    return result


print("== funding both accounts: two transfers in flight (nonces n and n+1), one batch")
n = node.nonce(alice.public_key)
txs = [gridpact.build(alice, chain_id, n + i, *gridpact.transfer(who.public_key, 50_000_000))
       for i, who in enumerate([seller, buyer])]
for res in node.submit(txs, wait=True):
    check(res, "transfer")

print("== registering a pv meter (seller) and a consumer meter (buyer), both virtual")
for owner, meter, source in [(seller, seller_meter, "pv"), (buyer, buyer_meter, "consumer")]:
    tx = gridpact.build(owner, chain_id, 0, *gridpact.register_virtual_meter(
        meter, owner, chain_id, "north", source=source, location="kit example"))
    check(node.submit(tx, wait=True), f"meters/register {gridpact.meter_id(meter).hex()[:16]}...")

period = int(time.time() * 1000) // 5000 + 2
print(f"== an offer and a bid for period {period}")
offer = gridpact.build(seller, chain_id, 1, *gridpact.offer(
    period, 2000, 90_000, gridpact.meter_id(seller_meter)))
bid = gridpact.build(buyer, chain_id, 1, *gridpact.bid(
    period, 2000, 120_000, gridpact.meter_id(buyer_meter), renewable_only=True))
# Following commits on the block stream instead of holding the request open.
stream = node.blocks(from_height=node.get("/v1/chain")["height"] + 1)
for res in node.submit([offer, bid]):
    assert res["status"] == "accepted", res
ids = {offer.id().hex(), bid.id().hex()}
while ids:
    block = next(stream)
    print(f"block {block['data']['height']}: {block['data']['tx_count']} transactions")
    for i in list(ids):
        try:
            if node.tx(i)["receipt"]["ok"]:
                ids.discard(i)
        except gridpact.ApiError:
            pass
print("both orders committed")

print("== clearing at gate closure")
while True:
    try:
        price = node.query("market", "price", period=period)
        break
    except gridpact.ApiError:
        time.sleep(0.5)
trades = node.query("market", "trades", period=period)["trades"]
print(f"cleared: {price['trades']} trade(s), {price['volume_wh']} Wh ({price['rule']})")
assert len(trades) == 1 and trades[0]["qty_wh"] == 2000, trades

print("== readings after the period, signed by each meter; then settlement")
# A first reading counts only for the meter's registration period and a period settles from
# contiguous readings: each meter first reports the quiet periods since its registration.
next_seq = {}
for owner, meter in [(seller, seller_meter), (buyer, buyer_meter)]:
    first = node.query("meters", "meter/" + gridpact.meter_id(meter).hex())["registered_period"]
    seq = 0
    for q in range(first, period):
        seq += 1
        tx = gridpact.build(owner, chain_id, node.nonce(owner.public_key),
                            *gridpact.reading(meter, chain_id, q, seq, 0, 0))
        res = node.submit(tx, wait=True)
        assert res["status"] == "committed" and res["receipt"]["ok"], res
    next_seq[meter.public_key] = seq + 1
while int(time.time() * 1000) // 5000 <= period:
    time.sleep(0.5)
for owner, meter, imp, exp in [(seller, seller_meter, 0, 2000), (buyer, buyer_meter, 2000, 0)]:
    tx = gridpact.build(owner, chain_id, node.nonce(owner.public_key),
                        *gridpact.reading(meter, chain_id, period, next_seq[meter.public_key], imp, exp))
    check(node.submit(tx, wait=True), "meters/reading")
while not (st := node.query("market", "settlement", period=period, account=buyer.public_key.hex()))["settled"]:
    time.sleep(0.5)
print("buyer's statement:", {k: st[k] for k in ("bought_wh", "received_wh", "paid") if k in st})

print("== offline: the bid's receipt bundle and the buyer's account, against the validator key")
bundle = node.tx(bid.id())["bundle"]
proved = gridpact.verify_bundle(bundle, validator, gridpact.registry())
print(f"bid {proved['tx'].id().hex()[:16]}... in block {proved['header']['height']}, "
      f"receipt ok={proved['receipt']['ok']}, events {[e['type'] for e in proved['receipt']['events']]}")
values = gridpact.verify_account(node.account(buyer.public_key), validator)
print(f"buyer's account: {len(values)} state values proved against the block's state root")
tampered = dict(bundle, receipt_raw=bundle["receipt_raw"][:-2] + "00")
try:
    gridpact.verify_bundle(tampered, validator)
    raise SystemExit("a tampered receipt verified")
except (gridpact.VerifyError, gridpact.DecodeError) as e:
    print(f"a tampered receipt is refused: {e}")
print("python client example: ok")
PY
