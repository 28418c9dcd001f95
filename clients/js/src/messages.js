// Friendly builders of common payloads (over the registry's generic encoder), and the
// virtual meter's signatures (src/modules/meters/meters.cpp, src/attest/evidence.cpp).
import { Writer, toHex, utf8 } from './codec.js';
import { registry } from './registry.js';
import { sha256Of } from './tx.js';

const READING_TAG = utf8('GRIDPACT/reading/v1');
const REGISTRATION_TAG = utf8('GRIDPACT/meters/register/v1');
const ATTEST_DOMAIN = utf8('GRIDPACT/attest/v1');
const VIRTUAL_DOMAIN = utf8('GRIDPACT/attest/virtual/v1 INSECURE');
export const ANY_SOURCE = 0x7e; // market::kAnySource: bits 1..6, every generating source
const hex = (b) => (typeof b === 'string' ? b : toHex(b));

export const transfer = (to, amount, memo = '') => ['bank/transfer', { to: hex(to), amount, memo }];

/** Sell `qtyWh` in settlement period `period` at `price` (micro-units per kWh). */
export const offer = (period, qtyWh, price, meter, commodity = 'electricity') =>
  ['market/offer', { commodity, period, qty: qtyWh, price, meter: hex(meter) }];

/** Buy; `preferences` are the bid's other fields (renewable_only, allowed_sources: a bit per
 * source, 1 << number, by default every generating source; excluded_sellers, ...). */
export const bid = (period, qtyWh, price, meter, preferences = {}, commodity = 'electricity') =>
  ['market/bid', { commodity, period, qty: qtyWh, price, meter: hex(meter), allowed_sources: ANY_SOURCE, ...preferences }];

/** A meter's id: SHA-256 of its public key. */
export const meterId = (meterKey) => sha256Of(meterKey.publicKey);

function sourceNumber(source) {
  if (typeof source === 'number') return source;
  const f = registry.message('meters/register').fields.find((x) => x.name === 'source');
  return f.values[source];
}

/** A meters/register payload for a virtual (software, INSECURE) meter: a self-signature
 * binding the meter key to this owner, chain and registration. */
export function registerVirtualMeter(meterKey, owner, chainId, {
  microgrid, source = 'consumer', location = '', firmwareVersion = '', initialImportWh = 0, initialExportWh = 0,
}) {
  const ownerPk = owner.publicKey ?? (typeof owner === 'string' ? Uint8Array.from(owner.match(/../g).map((h) => parseInt(h, 16))) : owner);
  const src = sourceNumber(source);
  const challenge = sha256Of(new Writer().raw(REGISTRATION_TAG).raw(ownerPk).str(microgrid, 64).u8(src)
    .str(location, 128).str(firmwareVersion, 64).u64(initialImportWh).u64(initialExportWh).take());
  const pk = meterKey.publicKey;
  const nonce = sha256Of(new Writer().raw(ATTEST_DOMAIN).bytes(utf8(chainId), 1 << 20).bytes(pk, 65)
    .bytes(challenge, 1 << 20).take());
  const evidence = new Writer().u8(1).u8(1).bytes(pk, 65).raw(meterKey.sign(sha256Of(VIRTUAL_DOMAIN, nonce))).take();
  return ['meters/register', {
    evidence: toHex(evidence), microgrid, source: src, location, firmware_version: firmwareVersion,
    initial_import_wh: initialImportWh, initial_export_wh: initialExportWh,
  }];
}

/** A meters/reading payload signed by the meter (cumulative registers in Wh). */
export function reading(meterKey, chainId, period, seq, importWh, exportWh) {
  const id = meterId(meterKey);
  const digest = sha256Of(new Writer().raw(READING_TAG).str(chainId, 64).raw(id).u64(period).u64(seq)
    .u64(importWh).u64(exportWh).take());
  return ['meters/reading', {
    meter: toHex(id), period, seq, import_wh: importWh, export_wh: exportWh, signature: toHex(meterKey.sign(digest)),
  }];
}
