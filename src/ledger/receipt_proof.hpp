// A receipt bundle: everything needed to prove, offline and without trusting any node,
// that a signed transaction was committed in a block with a given outcome. It holds the
// canonical bytes of the transaction, its receipt and the block header, and two Merkle
// inclusion proofs (transaction id in tx_root, receipt hash in receipts_root). The
// verifier needs only the proposer's public key (from the genesis document).
//
// Binary encoding (version 1), canonical per codec.hpp, for storing or shipping bundles
// (the API serves the same fields as JSON, api/views.hpp):
//   u8 version | bytes tx (<= kMaxTxBytes) | bytes receipt (<= kMaxReceiptBytes) |
//   bytes header (<= kMaxHeaderBytes) | proof tx_proof | proof receipt_proof
//   proof = u64 index | u64 size | list of fixed32 siblings (<= kMaxProofDepth)
#pragma once

#include "ledger/block.hpp"

namespace gridpact {

struct ReceiptBundle {
  Bytes tx;
  Bytes receipt;
  Bytes header;
  merkle::Proof tx_proof;
  merkle::Proof receipt_proof;
};

constexpr uint8_t kBundleVersion = 1;
constexpr size_t kMaxReceiptBytes = 1 << 22;  // 256 events of <= 8 KiB and their types
constexpr size_t kMaxHeaderBytes = 1024;
constexpr size_t kMaxProofDepth = 64;

Bytes encode_bundle(const ReceiptBundle& b);
// Strict: TRUNCATED, TRAILING_BYTES, FIELD_TOO_LONG, UNKNOWN_VERSION. Decoding checks
// shape only; verify_bundle() checks meaning.
Result<ReceiptBundle> decode_bundle(const uint8_t* data, size_t size);

struct VerifiedReceipt {
  Transaction tx;
  Receipt receipt;
  BlockHeader header;
};

Result<VerifiedReceipt> verify_bundle(const ReceiptBundle& bundle, const PublicKey& proposer);

}  // namespace gridpact
