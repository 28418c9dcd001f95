#!/usr/bin/env bash
# The JavaScript client kit (clients/js, the web app's) against a fresh node, run by Node
# with no gridpact CLI in the loop: register two virtual meters, post an offer and a bid,
# wait for clearing and settlement (meter readings signed by the meters), and verify the
# bid's receipt and the buyer's account offline with nothing but the validator's key.
source "$(dirname "$0")/lib.sh"
command -v node >/dev/null || { echo "needs node (scripts/install-deps.sh)" >&2; exit 2; }
[ -d "$root/clients/js/node_modules/@noble/ed25519" ] ||
  { echo "needs npm ci --prefix clients/js (scripts/install-deps.sh)" >&2; exit 2; }

say "a development chain with 5-second settlement periods"
data=$work/chain
start_node "$data"
stop_node
sed -i 's/^period_ms = .*/period_ms = 5000/' "$data/genesis.toml"
printf 'settlement_deadline_ms = 20000\n\n[market.fees.north]\nnorth = 0\n' >> "$data/genesis.toml"
rm -rf "$data/db"
start_node "$data"

cat > "$work/client.mjs" <<JS
import * as gp from '$root/clients/js/src/index.js';
import { readFileSync } from 'node:fs';  // only to read the key file; the kit needs no Node API
JS
cat >> "$work/client.mjs" <<'JS'
const [url, aliceFile, validator] = process.argv.slice(2);
const node = new gp.Client(url);
const chainId = (await node.chain()).chain_id;
const alice = gp.Key.fromJson(readFileSync(aliceFile, 'utf8'));
const [seller, buyer, sellerMeter, buyerMeter] = [0, 1, 2, 3].map(() => gp.Key.generate());
const hex = gp.toHex;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nonceOf = (key) => node.nonce(key.publicKey);

function check(result, what) {
  const r = result.receipt;
  console.log(`${what}: ${r.code_name}${r.message ? ` (${r.message})` : ''}`);
  if (result.status !== 'committed' || !r.ok) throw new Error(JSON.stringify(result));
}

console.log('== funding both accounts: two transfers in flight (nonces n and n+1), one batch');
const n = await nonceOf(alice);
const funding = [seller, buyer].map((who, i) => gp.build(alice, chainId, n + BigInt(i), ...gp.transfer(who.publicKey, 50_000_000)));
for (const res of await node.submit(funding, { wait: true })) check(res, 'transfer');

console.log('== registering a pv meter (seller) and a consumer meter (buyer), both virtual');
for (const [owner, meter, source] of [[seller, sellerMeter, 'pv'], [buyer, buyerMeter, 'consumer']]) {
  const tx = gp.build(owner, chainId, 0, ...gp.registerVirtualMeter(meter, owner, chainId, { microgrid: 'north', source, location: 'kit example' }));
  check(await node.submit(tx, { wait: true }), `meters/register ${hex(gp.meterId(meter)).slice(0, 16)}...`);
}

const period = Math.floor(Date.now() / 5000) + 2;
console.log(`== an offer and a bid for period ${period}`);
const offer = gp.build(seller, chainId, 1, ...gp.offer(period, 2000, 90_000, gp.meterId(sellerMeter)));
const bid = gp.build(buyer, chainId, 1, ...gp.bid(period, 2000, 120_000, gp.meterId(buyerMeter), { renewable_only: true }));
// Following commits on the block stream instead of holding the request open.
const abort = new AbortController();
const stream = node.blocks((await node.get('/v1/chain')).height + 1, abort.signal);
for (const res of await node.submit([offer, bid])) if (res.status !== 'accepted') throw new Error(JSON.stringify(res));
const pending = new Set([hex(offer.id()), hex(bid.id())]);
for await (const ev of stream) {
  console.log(`block ${ev.data.height}: ${ev.data.tx_count} transactions`);
  for (const id of [...pending]) {
    try { if ((await node.tx(id)).receipt.ok) pending.delete(id); } catch { /* not yet */ }
  }
  if (!pending.size) break;
}
abort.abort();
console.log('both orders committed');

console.log('== clearing at gate closure');
let price;
for (;;) {
  try { price = await node.query('market', 'price', { period }); break; } catch { await sleep(500); }
}
const { trades } = await node.query('market', 'trades', { period });
console.log(`cleared: ${price.trades} trade(s), ${price.volume_wh} Wh`);
if (trades.length !== 1 || trades[0].qty_wh !== 2000) throw new Error(JSON.stringify(trades));

console.log('== readings after the period, signed by each meter; then settlement');
// A first reading counts only for the meter's registration period and a period settles from
// contiguous readings: each meter first reports the quiet periods since its registration.
const nextSeq = new Map();
for (const [owner, meter] of [[seller, sellerMeter], [buyer, buyerMeter]]) {
  const { registered_period: from } = await node.query('meters', `meter/${hex(gp.meterId(meter))}`);
  let seq = 0;
  for (let q = from; q < period; q++) {
    const tx = gp.build(owner, chainId, await nonceOf(owner), ...gp.reading(meter, chainId, q, ++seq, 0, 0));
    const res = await node.submit(tx, { wait: true });
    if (res.status !== 'committed' || !res.receipt.ok) throw new Error(JSON.stringify(res));
  }
  nextSeq.set(meter, seq + 1);
}
while (Math.floor(Date.now() / 5000) <= period) await sleep(500);
for (const [owner, meter, imp, exp] of [[seller, sellerMeter, 0, 2000], [buyer, buyerMeter, 2000, 0]]) {
  const tx = gp.build(owner, chainId, await nonceOf(owner), ...gp.reading(meter, chainId, period, nextSeq.get(meter), imp, exp));
  check(await node.submit(tx, { wait: true }), 'meters/reading');
}
let st;
while (!(st = await node.query('market', 'settlement', { period, account: hex(buyer.publicKey) })).settled) await sleep(500);
console.log(`buyer's statement: bought ${st.bought_wh} Wh, paid ${st.paid}`);

console.log("== offline: the bid's receipt bundle and the buyer's account, against the validator key");
const { bundle } = await node.tx(bid.id());
const proved = gp.verifyBundle(bundle, validator, gp.registry);
console.log(`bid ${hex(proved.tx.id()).slice(0, 16)}... in block ${proved.header.height}, receipt ok=${proved.receipt.ok}, events ${proved.receipt.events.map((e) => e.type)}`);
const values = gp.verifyAccount(await node.account(buyer.publicKey), validator);
console.log(`buyer's account: ${Object.keys(values).length} state values proved against the block's state root`);
try {
  gp.verifyBundle({ ...bundle, receipt_raw: bundle.receipt_raw.slice(0, -2) + '00' }, validator);
  throw new Error('a tampered receipt verified');
} catch (e) {
  if (e.message === 'a tampered receipt verified') throw e;
  console.log(`a tampered receipt is refused: ${e.message}`);
}
console.log('js client example: ok');
JS
node "$work/client.mjs" "$NODE" "$data/keys/alice.json" "$(jq -r .public_key "$data/keys/validator.json")"
