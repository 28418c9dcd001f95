// The JavaScript kit against the C++ codec's own vectors (clients/vectors.json, printed by
// `gridpact vectors`). Run: npm test --prefix clients/js (node --test).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as gp from '../src/index.js';

const V = JSON.parse(readFileSync(new URL('../../vectors.json', import.meta.url), 'utf8'));
const REG = gp.registry;

// Vectors spell integers beyond 2^53 as strings; decoded 64-bit integers are bigints.
const canon = (v) => {
  if (typeof v === 'bigint' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canon(x)]));
  return v;
};

test('every message of the schema has vectors', () => {
  assert.deepEqual(new Set(V.messages.map((m) => m.name)), new Set(REG.messages.keys()));
  assert.ok(V.messages.length > 20);
});

test('samples encode and decode', () => {
  for (const m of V.messages)
    for (const s of m.samples) {
      const [type, payload] = REG.encodePayload(m.name, s.value);
      assert.equal(type, m.type);
      assert.equal(gp.toHex(payload), s.payload, `${m.name} ${s.sample}`);
      assert.deepEqual(canon(REG.decodePayload(m.type, gp.fromHex(s.payload))), canon(s.value), `${m.name} ${s.sample}`);
    }
});

test('signed transactions', () => {
  const key = new gp.Key(V.sender.seed);
  assert.equal(gp.toHex(key.publicKey), V.sender.public_key);
  let n = 0;
  for (const m of V.messages) {
    const samples = Object.fromEntries(m.samples.map((s) => [s.sample, s]));
    for (const t of m.transactions) {
      const tx = gp.build(key, V.chain_id, BigInt(t.nonce), m.name, samples[t.sample].value);
      assert.equal(gp.toHex(tx.signingHash()), t.signing_hash);
      assert.equal(gp.toHex(tx.signature), t.signature);
      assert.equal(tx.hex(), t.raw, `${m.name} ${t.sample}`);
      assert.equal(gp.toHex(tx.id()), t.id);
      const back = gp.Transaction.decode(t.raw);
      assert.equal(back.hex(), t.raw);
      assert.ok(back.signatureValid());
      n++;
    }
  }
  assert.ok(n >= 2 * V.messages.length);
});

test('bad values are refused', () => {
  const good = { to: '00'.repeat(32), amount: 1, memo: '' };
  for (const bad of [{ ...good, amount: -1 }, { ...good, amount: 1n << 64n }, { ...good, to: '00' },
    { ...good, memo: 'x'.repeat(129) }, { ...good, extra: 1 }, { ...good, amount: true }, { ...good, amount: 2 ** 60 }])
    assert.throws(() => REG.encodePayload('bank/transfer', bad), gp.EncodeError, JSON.stringify(bad, (k, v) => (typeof v === 'bigint' ? String(v) : v)));
  const [, payload] = REG.encodePayload('bank/transfer', good);
  assert.throws(() => REG.decodePayload(0x0101, payload.subarray(0, payload.length - 1)), gp.DecodeError);
  assert.throws(() => REG.decodePayload(0x0101, new Uint8Array([...payload, 0])), gp.DecodeError);
});

test('every message is encodable from zero values', () => {
  for (const m of REG.schema.messages) {
    const value = Object.fromEntries(m.fields.filter((f) => f.kind === 'fixed').map((f) => [f.name, '00'.repeat(f.size)]));
    const [type, payload] = REG.encodePayload(m.name, value);
    assert.equal(type, m.type);
    assert.equal(typeof REG.decodePayload(type, payload), 'object');
  }
});

test('receipt bundle verifies, tampered ones do not', () => {
  const v = V.receipt_bundle;
  const got = gp.verifyBundle(v.bundle, v.validator, REG);
  assert.equal(gp.toHex(got.tx.id()), v.tx_id);
  assert.equal(gp.toHex(got.header.hash), v.header_hash);
  assert.equal(got.receipt.events[0].type, 'bank/transfer');
  assert.equal(got.receipt.events[0].fields.amount, 3000n);
  assert.throws(() => gp.verifyBundle(v.bundle, new gp.Key(new Uint8Array(32)).publicKey), gp.VerifyError);
  for (const field of ['tx_raw', 'receipt_raw', 'header_raw']) {
    const raw = gp.fromHex(v.bundle[field]);
    raw[raw.length - 1] ^= 1;
    assert.throws(() => gp.verifyBundle({ ...v.bundle, [field]: gp.toHex(raw) }, v.validator), field);
  }
  const badPath = structuredClone(v.bundle);
  badPath.tx_proof.path[0] = '00'.repeat(32);
  assert.throws(() => gp.verifyBundle(badPath, v.validator), gp.VerifyError);
  const badIndex = structuredClone(v.bundle);
  badIndex.receipt_proof.index = 1;
  assert.throws(() => gp.verifyBundle(badIndex, v.validator), gp.VerifyError);
});

test('state proofs', () => {
  const kinds = new Set();
  for (const p of V.state.proofs) {
    kinds.add(`${p.value === null}/${p.proof.ends_at_leaf}`);
    assert.ok(gp.verifyState(V.state.state_root, p.key, p.value, p.proof), p.key);
    assert.ok(!gp.verifyState(V.state.state_root, p.key, p.value === null ? '00' : null, p.proof));
    assert.ok(!gp.verifyState('11'.repeat(32), p.key, p.value, p.proof));
  }
  assert.deepEqual(kinds, new Set(['false/true', 'true/true', 'true/false']));
  const header = gp.decodeHeader(V.receipt_bundle.bundle.header_raw);
  assert.equal(gp.toHex(header.stateRoot), V.state.state_root);
});

test('virtual meter registration and reading', () => {
  const v = V.virtual_meter;
  const meter = new gp.Key(v.meter_seed);
  assert.equal(gp.toHex(gp.meterId(meter)), v.meter_id);
  const f = v.fields;
  const [name, value] = gp.registerVirtualMeter(meter, v.owner, V.chain_id, {
    microgrid: f.microgrid, source: f.source, location: f.location, firmwareVersion: f.firmware_version,
    initialImportWh: f.initial_import_wh, initialExportWh: f.initial_export_wh,
  });
  assert.equal(gp.toHex(REG.encodePayload(name, value)[1]), v.register_payload);
  const r = v.reading;
  const [rn, rv] = gp.reading(meter, V.chain_id, r.period, r.seq, r.import_wh, r.export_wh);
  assert.equal(gp.toHex(REG.encodePayload(rn, rv)[1]), v.reading_payload);
});
