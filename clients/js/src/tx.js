// Keys and transactions (src/ledger/transaction.hpp): build, sign, encode, decode.
//   u8 version | str chain_id (<= 64) | sender (32) | u64 nonce | u16 type |
//   bytes payload (<= 61440) | signature (64)
// The signature is Ed25519 by the sender over SHA-256("gridpact/tx/v1" || every field but
// the signature); the id is SHA-256 of the whole encoding.
import * as ed from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { DecodeError, Reader, Writer, concat, fromHex, toHex, utf8 } from './codec.js';
import { registry as defaultRegistry } from './registry.js';

ed.hashes.sha512 = sha512;

export const DOMAIN = utf8('gridpact/tx/v1');
export const MAX_CHAIN_ID = 64;
export const MAX_PAYLOAD = 60 * 1024;
export const MAX_TX_BYTES = 64 * 1024;

export const sha256Of = (...parts) => sha256(concat(...parts));
const bytes = (b) => (typeof b === 'string' ? fromHex(b) : b);

/** An Ed25519 key pair from a 32-byte seed (a gridpact key file's "seed"). */
export class Key {
  #seed;
  constructor(seed) {
    seed = bytes(seed);
    if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
    this.#seed = Uint8Array.from(seed);
    this.publicKey = ed.getPublicKey(this.#seed);
  }
  static generate() { return new Key(ed.utils.randomSecretKey()); }
  /** From the JSON of a gridpact key file ({"public_key", "seed"}). */
  static fromJson(j) { return new Key(fromHex((typeof j === 'string' ? JSON.parse(j) : j).seed)); }
  get seed() { return this.#seed; }
  sign(message) { return ed.sign(bytes(message), this.#seed); }
  toJSON() { return { public_key: toHex(this.publicKey) }; } // never the seed
}

export function verifySignature(publicKey, message, signature) {
  try { return ed.verify(bytes(signature), bytes(message), bytes(publicKey)); } catch { return false; }
}

export class Transaction {
  constructor({ chainId, nonce, type, payload, sender = new Uint8Array(32), signature = new Uint8Array(64) }) {
    Object.assign(this, { chainId, nonce: BigInt(nonce), type, payload: bytes(payload), sender: bytes(sender), signature: bytes(signature) });
  }
  #unsigned(w) {
    return w.u8(1).str(this.chainId, MAX_CHAIN_ID).raw(this.sender).u64(this.nonce)
      .int('u16', this.type).bytes(this.payload, MAX_PAYLOAD);
  }
  signingHash() { return sha256(this.#unsigned(new Writer().raw(DOMAIN)).take()); }
  sign(key) {
    this.sender = key.publicKey;
    this.signature = key.sign(this.signingHash());
    return this;
  }
  signatureValid() { return verifySignature(this.sender, this.signingHash(), this.signature); }
  encode() { return this.#unsigned(new Writer()).raw(this.signature).take(); }
  id() { return sha256(this.encode()); }
  hex() { return toHex(this.encode()); }
  static decode(data) {
    data = bytes(data);
    if (data.length > MAX_TX_BYTES) throw new DecodeError('TOO_LARGE');
    const r = new Reader(data);
    if (r.int('u8') !== 1) throw new DecodeError('UNKNOWN_VERSION');
    const chainId = new TextDecoder().decode(r.bytes(MAX_CHAIN_ID));
    const sender = r.need(32);
    const nonce = r.int('u64');
    const type = r.int('u16');
    const payload = r.bytes(MAX_PAYLOAD);
    const signature = r.need(64);
    r.end();
    return new Transaction({ chainId, nonce, type, payload, sender, signature });
  }
}

/** A signed transaction of `message` (a name such as "market/offer", or its number). */
export function build(key, chainId, nonce, message, value, registry = defaultRegistry) {
  const [type, payload] = registry.encodePayload(message, value);
  return new Transaction({ chainId, nonce, type, payload }).sign(key);
}
