// GridPact client kit: build, sign and encode every transaction type from the registry
// (schema.js, generated from `gridpact schema`), verify receipts and state proofs offline,
// and use the node's API. No Node-only API: the web app uses it in the browser.
export { DecodeError, EncodeError, decodeFields, encodeFields, fromHex, toHex } from './codec.js';
export { Registry, registry } from './registry.js';
export { Key, Transaction, build, sha256Of, verifySignature } from './tx.js';
export { VerifyError, decodeHeader, decodeReceipt, leafHash, merkleRoot, merkleVerify, nodeHash, verifyAccount, verifyBundle, verifyState } from './proofs.js';
export { bid, meterId, offer, reading, registerVirtualMeter, transfer } from './messages.js';
export { ApiError, Client } from './api.js';
