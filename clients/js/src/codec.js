// The canonical binary encoding (src/codec/codec.hpp), driven by the field layouts of the
// registry (schema.js, generated from `gridpact schema`). Browser-safe: Uint8Array, BigInt.
//
// Values are what the node's JSON shows: integers as number, bigint or decimal string
// (64-bit ones decode as bigint, narrower ones as number), named enums by name (or
// number), fixed-size and byte fields as hex (or Uint8Array), strings as text, optionals
// as null or the value, lists as arrays, nested structs as objects. A field left out takes
// its zero value, except fixed-size fields (keys, hashes), which must be given.

export class EncodeError extends Error {}
export class DecodeError extends Error {}

const INT = {
  u8: [1, false], u16: [2, false], u32: [4, false], u64: [8, false],
  i8: [1, true], i16: [2, true], i32: [4, true], i64: [8, true],
};

export function toHex(b) {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(h) {
  if (typeof h !== 'string' || h.length % 2 || /[^0-9a-fA-F]/.test(h)) throw new EncodeError('not hex');
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export const utf8 = (s) => new TextEncoder().encode(s);

function bounds(kind) {
  const [size, signed] = INT[kind];
  const bits = BigInt(8 * size);
  return signed ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
}

export class Writer {
  constructor() { this.parts = []; }
  int(kind, v) {
    const [size] = INT[kind];
    let x = BigInt.asUintN(8 * size, BigInt(v));
    const b = new Uint8Array(size);
    for (let i = size - 1; i >= 0; i--) { b[i] = Number(x & 0xffn); x >>= 8n; }
    this.parts.push(b);
    return this;
  }
  u8(v) { return this.int('u8', v); }
  u32(v) { return this.int('u32', v); }
  u64(v) { return this.int('u64', v); }
  raw(b) { this.parts.push(Uint8Array.from(b)); return this; }
  bytes(b, maxLen) {
    if (b.length > maxLen) throw new EncodeError(`${b.length} bytes exceed the field's ${maxLen}`);
    return this.u32(b.length).raw(b);
  }
  str(s, maxLen) { return this.bytes(utf8(s), maxLen); }
  take() { return concat(...this.parts); }
}

export class Reader {
  constructor(data) { this.data = data; this.at = 0; }
  need(n) {
    if (this.at + n > this.data.length) throw new DecodeError('TRUNCATED');
    const b = this.data.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
  int(kind) {
    const [size, signed] = INT[kind];
    let x = 0n;
    for (const byte of this.need(size)) x = (x << 8n) | BigInt(byte);
    if (signed) x = BigInt.asIntN(8 * size, x);
    return size === 8 ? x : Number(x);
  }
  length(maxLen) {
    const n = this.int('u32');
    if (n > maxLen) throw new DecodeError(`FIELD_TOO_LONG: ${n} > ${maxLen}`);
    return n;
  }
  bytes(maxLen) { return this.need(this.length(maxLen)); }
  end() { if (this.at !== this.data.length) throw new DecodeError('TRAILING_BYTES'); }
}

function bytesOf(v, path) {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') {
    try { return fromHex(v); } catch { throw new EncodeError(`${path}: not hex`); }
  }
  throw new EncodeError(`${path}: expected hex or bytes`);
}

function zero(d) {
  if (d.kind in INT) return d.range ? d.range[0] : 0;
  return { bool: false, string: '', bytes: new Uint8Array(), list: [], optional: null, struct: {} }[d.kind];
}

function toInteger(d, v, path) {
  if (typeof v === 'string' && d.values && v in d.values) v = d.values[v];
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new EncodeError(`${path}: ${v} is not a safe integer (use a bigint or a string)`);
  if (typeof v === 'string' && !/^-?\d+$/.test(v)) throw new EncodeError(`${path}: ${JSON.stringify(v)} is not an integer or a name`);
  if (!['number', 'string', 'bigint'].includes(typeof v)) throw new EncodeError(`${path}: expected an integer, got ${typeof v}`);
  return BigInt(v);
}

export function encodeValue(d, v, w, path) {
  const kind = d.kind;
  if (kind in INT) {
    const x = toInteger(d, v, path);
    const [lo, hi] = d.range ? d.range.map(BigInt) : bounds(kind);
    const [tlo, thi] = bounds(kind);
    if (x < lo || x > hi || x < tlo || x > thi) throw new EncodeError(`${path}: ${x} is out of range [${lo}, ${hi}]`);
    if (d.mask !== undefined && (x & ~BigInt(d.mask)) !== 0n) throw new EncodeError(`${path}: unknown flag bits in ${x}`);
    w.int(kind, x);
  } else if (kind === 'bool') {
    if (typeof v !== 'boolean') throw new EncodeError(`${path}: expected true or false`);
    w.u8(v ? 1 : 0);
  } else if (kind === 'fixed') {
    const b = bytesOf(v, path);
    if (b.length !== d.size) throw new EncodeError(`${path}: ${b.length} bytes, expected ${d.size}`);
    w.raw(b);
  } else if (kind === 'string' || kind === 'bytes') {
    if (kind === 'string' && typeof v !== 'string') throw new EncodeError(`${path}: expected text`);
    try {
      w.bytes(kind === 'string' ? utf8(v) : bytesOf(v, path), d.max_len);
    } catch (e) { throw new EncodeError(`${path}: ${e.message}`); }
  } else if (kind === 'optional') {
    w.u8(v === null || v === undefined ? 0 : 1);
    if (v !== null && v !== undefined) encodeValue(d.item, v, w, path);
  } else if (kind === 'list') {
    if (!Array.isArray(v)) throw new EncodeError(`${path}: expected a list`);
    if (v.length > d.max_len) throw new EncodeError(`${path}: ${v.length} items exceed the field's ${d.max_len}`);
    w.u32(v.length);
    v.forEach((item, i) => encodeValue(d.item, item, w, `${path}[${i}]`));
  } else if (kind === 'struct') {
    writeFields(d.fields, v, w, path);
  } else if (kind === 'const') {
    w.int(d.type, d.value);
  } else {
    throw new EncodeError(`${path}: unknown kind ${kind} (a newer schema?)`);
  }
}

function writeFields(fields, obj, w, path) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new EncodeError(`${path || 'payload'}: expected an object`);
  const names = new Set(fields.filter((f) => f.kind !== 'const').map((f) => f.name));
  const unknown = Object.keys(obj).filter((k) => !names.has(k));
  if (unknown.length) throw new EncodeError(`${path || 'payload'}: unknown fields ${unknown.join(', ')}`);
  for (const f of fields) {
    const name = path ? `${path}.${f.name}` : f.name;
    if (f.kind === 'const') encodeValue(f, null, w, name);
    else if (obj[f.name] !== undefined) encodeValue(f, obj[f.name], w, name);
    else if (f.kind === 'fixed') throw new EncodeError(`${name}: required`);
    else encodeValue(f, zero(f), w, name);
  }
}

/** The canonical bytes of `obj` under the layout `fields`. */
export function encodeFields(fields, obj) {
  const w = new Writer();
  writeFields(fields, obj, w, '');
  return w.take();
}

export function decodeValue(d, r, path) {
  const kind = d.kind;
  if (kind in INT) {
    const v = r.int(kind);
    const [lo, hi] = d.range ? d.range.map(BigInt) : bounds(kind);
    if (BigInt(v) < lo || BigInt(v) > hi) throw new DecodeError(`BAD_ENCODING: ${path} ${v} is out of range`);
    if (d.mask !== undefined && (BigInt(v) & ~BigInt(d.mask)) !== 0n) throw new DecodeError(`BAD_ENCODING: ${path} has unknown flag bits`);
    for (const [name, n] of Object.entries(d.values || {})) if (BigInt(n) === BigInt(v)) return name;
    return v;
  }
  if (kind === 'bool') {
    const b = r.int('u8');
    if (b > 1) throw new DecodeError(`BAD_ENCODING: ${path} boolean ${b}`);
    return b === 1;
  }
  if (kind === 'fixed') return toHex(r.need(d.size));
  if (kind === 'string') {
    try { return new TextDecoder('utf-8', { fatal: true }).decode(r.bytes(d.max_len)); } catch (e) {
      if (e instanceof DecodeError) throw e;
      throw new DecodeError(`BAD_ENCODING: ${path} is not UTF-8`);
    }
  }
  if (kind === 'bytes') return toHex(r.bytes(d.max_len));
  if (kind === 'optional') return decodeValue({ kind: 'bool' }, r, path) ? decodeValue(d.item, r, path) : null;
  if (kind === 'list') {
    const n = r.length(d.max_len);
    const out = [];
    for (let i = 0; i < n; i++) out.push(decodeValue(d.item, r, `${path}[${i}]`));
    return out;
  }
  if (kind === 'struct') return readFields(d.fields, r, path);
  if (kind === 'const') {
    const v = r.int(d.type);
    if (BigInt(v) !== BigInt(d.value)) throw new DecodeError(`UNKNOWN_VERSION: ${path} ${v} is not ${d.value}`);
    return v;
  }
  throw new DecodeError(`${path}: unknown kind ${kind}`);
}

function readFields(fields, r, path) {
  const out = {};
  for (const f of fields) {
    const v = decodeValue(f, r, path ? `${path}.${f.name}` : f.name);
    if (f.kind !== 'const') out[f.name] = v;
  }
  return out;
}

/** The object that `data` encodes under the layout `fields` (all of it, or DecodeError). */
export function decodeFields(fields, data) {
  const r = new Reader(data);
  const out = readFields(fields, r, '');
  r.end();
  return out;
}
