// Offline verification (src/crypto/merkle.*, src/ledger/receipt_proof.*,
// src/ledger/state_tree.*): receipt bundles against the validator's key, and state proofs
// against a header's state root.
import { DecodeError, Reader, fromHex, toHex, utf8 } from './codec.js';
import { Transaction, sha256Of, verifySignature } from './tx.js';

export class VerifyError extends Error {}
const BLOCK_DOMAIN = utf8('gridpact/block/v1');
const bytes = (b) => (typeof b === 'string' ? fromHex(b) : b);
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

export const leafHash = (data) => sha256Of(new Uint8Array([0]), data);
export const nodeHash = (l, r) => sha256Of(new Uint8Array([1]), l, r);

function split(n) { let k = 1n; while (k <= (n - 1n) / 2n) k *= 2n; return k; }

export function merkleRoot(leaves) {
  if (leaves.length === 0) return sha256Of(new Uint8Array());
  if (leaves.length === 1) return leaves[0];
  const k = Number(split(BigInt(leaves.length)));
  return nodeHash(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}

/** True when `leaf` (leaf-hashed already) sits at `index` of a tree of `size` with `root`. */
export function merkleVerify(leaf, index, size, path, root) {
  index = BigInt(index); size = BigInt(size);
  if (size === 0n || index >= size || path.length > 64) return false;
  let used = 0;
  const fold = (i, n) => {
    if (n === 1n) return leaf;
    const k = split(n);
    const child = i < k ? fold(i, k) : fold(i - k, n - k);
    if (child === null || used >= path.length) return null;
    const sib = path[used++];
    return i < k ? nodeHash(child, sib) : nodeHash(sib, child);
  };
  const got = fold(index, size);
  return got !== null && used === path.length && equal(got, bytes(root));
}

export function decodeHeader(data) {
  data = bytes(data);
  const r = new Reader(data);
  if (r.int('u8') !== 1) throw new DecodeError('UNKNOWN_VERSION');
  const h = {
    chainId: new TextDecoder().decode(r.bytes(64)), height: r.int('u64'), prevHash: r.need(32),
    timeMs: r.int('u64'), txCount: r.int('u32'), txRoot: r.need(32), receiptsRoot: r.need(32),
    stateRoot: r.need(32), proposer: r.need(32),
  };
  const unsignedLength = r.at;
  h.signature = r.need(64);
  r.end();
  h.hash = sha256Of(BLOCK_DOMAIN, data.subarray(0, unsignedLength));
  return h;
}

export function decodeReceipt(data, registry = null) {
  const r = new Reader(bytes(data));
  if (r.int('u8') !== 1) throw new DecodeError('UNKNOWN_VERSION');
  const text = (max) => new TextDecoder().decode(r.bytes(max));
  const rc = { txId: r.need(32), height: r.int('u64'), index: r.int('u32'), code: r.int('u16'), message: text(512), events: [] };
  const n = r.length(256);
  for (let i = 0; i < n; i++) {
    const type = text(64);
    const data = r.bytes(8192);
    const event = { type, data };
    if (registry) { try { event.fields = registry.decodeEvent(type, data); } catch { event.fields = null; } }
    rc.events.push(event);
  }
  r.end();
  rc.ok = rc.code === 0;
  return rc;
}

const proofOf = (j) => [BigInt(j.index), BigInt(j.size), j.path.map(fromHex)];

/** Checks a receipt bundle (GET /v1/tx/<id> "bundle") against the validator's public key
 * (GET /v1/chain "validator", or the genesis document). Returns {tx, receipt, header};
 * throws VerifyError on any mismatch. */
export function verifyBundle(bundle, validator, registry = null) {
  const txRaw = fromHex(bundle.tx_raw), receiptRaw = fromHex(bundle.receipt_raw);
  const tx = Transaction.decode(txRaw);
  const receipt = decodeReceipt(receiptRaw, registry);
  const header = decodeHeader(bundle.header_raw);
  const fail = (why) => { throw new VerifyError(why); };
  if (!equal(header.proposer, bytes(validator))) fail('block was proposed by another key');
  if (!verifySignature(header.proposer, header.hash, header.signature)) fail('block header signature does not verify');
  if (!tx.signatureValid()) fail('transaction signature does not verify');
  const txId = sha256Of(txRaw);
  if (!equal(receipt.txId, txId)) fail('receipt is for another transaction');
  if (receipt.height !== header.height) fail('receipt is for another block');
  const [ti, ts, tp] = proofOf(bundle.tx_proof), [ri, rs, rp] = proofOf(bundle.receipt_proof);
  if (ti !== BigInt(receipt.index) || ri !== BigInt(receipt.index)) fail('proofs are for another position');
  if (!merkleVerify(leafHash(txId), ti, ts, tp, header.txRoot)) fail("transaction is not in the block's tx_root");
  if (!merkleVerify(leafHash(sha256Of(receiptRaw)), ri, rs, rp, header.receiptsRoot)) fail("receipt is not in the block's receipts_root");
  return { tx, receipt, header };
}

const bit = (h, d) => (h[d >> 3] >> (7 - (d & 7))) & 1;
const treeNode = (leaf, a, b) => sha256Of(new Uint8Array([leaf ? 0 : 1]), a, b);

/** True when, under `stateRoot`, `key` holds `value` (bytes), or is absent (null). `proof`
 * is the JSON of GET /v1/state or /v1/accounts/<pk>. */
export function verifyState(stateRoot, key, value, proof) {
  const siblings = proof.siblings.map(fromHex);
  if (siblings.length > 256) return false;
  const keyHash = sha256Of(bytes(key));
  const valueHash = value === null ? null : sha256Of(bytes(value));
  let current = new Uint8Array(32);
  if (proof.ends_at_leaf) {
    const lk = fromHex(proof.leaf_key_hash), lv = fromHex(proof.leaf_value_hash);
    if (equal(lk, keyHash)) {
      if (valueHash === null || !equal(valueHash, lv)) return false;
    } else {
      if (valueHash !== null) return false;
      for (let d = 0; d < siblings.length; d++) if (bit(lk, d) !== bit(keyHash, d)) return false;
    }
    current = treeNode(true, lk, lv);
  } else if (valueHash !== null) {
    return false;
  }
  for (let d = siblings.length - 1; d >= 0; d--)
    current = bit(keyHash, d) ? treeNode(false, siblings[d], current) : treeNode(false, current, siblings[d]);
  return equal(current, bytes(stateRoot));
}

/** Checks GET /v1/accounts/<pk>: the header is the validator's and every state proof holds.
 * Returns {key hex: value hex | null}. */
export function verifyAccount(view, validator) {
  const header = decodeHeader(view.header.raw);
  if (!equal(header.proposer, bytes(validator)) || !verifySignature(header.proposer, header.hash, header.signature))
    throw new VerifyError('header is not signed by the validator');
  const out = {};
  for (const p of view.state_proofs) {
    if (!verifyState(header.stateRoot, p.key, p.value, p.proof)) throw new VerifyError(`state proof of key ${p.key} does not verify`);
    out[p.key] = p.value;
  }
  return out;
}

export { toHex };
