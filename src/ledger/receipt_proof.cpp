#include "ledger/receipt_proof.hpp"

#include "codec/codec.hpp"

namespace gridpact {
namespace {

void write_proof(codec::Writer& w, const merkle::Proof& p) {
  w.u64(p.index).u64(p.size).count(p.path.size(), kMaxProofDepth);
  for (const auto& h : p.path) w.fixed(h);
}

merkle::Proof read_proof(codec::Reader& r) {
  merkle::Proof p;
  p.index = r.u64();
  p.size = r.u64();
  size_t n = r.count(kMaxProofDepth);
  p.path.reserve(n);
  for (size_t i = 0; i < n; ++i) p.path.push_back(r.fixed<32>());
  return p;
}

}  // namespace

Bytes encode_bundle(const ReceiptBundle& b) {
  codec::Writer w;
  w.u8(kBundleVersion)
      .bytes(b.tx, kMaxTxBytes)
      .bytes(b.receipt, kMaxReceiptBytes)
      .bytes(b.header, kMaxHeaderBytes);
  write_proof(w, b.tx_proof);
  write_proof(w, b.receipt_proof);
  return w.take();
}

Result<ReceiptBundle> decode_bundle(const uint8_t* data, size_t size) {
  return codec::decode<ReceiptBundle>(data, size, [](codec::Reader& r) {
    if (r.u8() != kBundleVersion) throw Error(Code::kUnknownVersion, "bundle version");
    ReceiptBundle b;
    b.tx = r.bytes(kMaxTxBytes);
    b.receipt = r.bytes(kMaxReceiptBytes);
    b.header = r.bytes(kMaxHeaderBytes);
    b.tx_proof = read_proof(r);
    b.receipt_proof = read_proof(r);
    return b;
  });
}

Result<VerifiedReceipt> verify_bundle(const ReceiptBundle& b, const PublicKey& proposer) {
  auto fail = [](const std::string& why) { return error(Code::kBadSignature, why); };
  auto tx = Transaction::decode(b.tx);
  if (!tx) return tx.status();
  auto receipt = Receipt::decode(b.receipt.data(), b.receipt.size());
  if (!receipt) return receipt.status();
  auto header = BlockHeader::decode(b.header.data(), b.header.size());
  if (!header) return header.status();

  if (header->proposer != proposer) return fail("block was proposed by another key");
  if (!header->signature_valid()) return fail("block header signature does not verify");
  if (!tx->signature_valid()) return fail("transaction signature does not verify");
  Hash32 tx_id = sha256(b.tx);
  if (receipt->tx_id != tx_id) return fail("receipt is for another transaction");
  if (receipt->height != header->height) return fail("receipt is for another block");
  if (b.tx_proof.index != receipt->index || b.receipt_proof.index != receipt->index)
    return fail("proofs are for another position");
  if (!merkle::verify(merkle::leaf_hash(tx_id), b.tx_proof, header->tx_root))
    return fail("transaction is not in the block's tx_root");
  if (!merkle::verify(merkle::leaf_hash(receipt->hash()), b.receipt_proof, header->receipts_root))
    return fail("receipt is not in the block's receipts_root");
  return VerifiedReceipt{std::move(tx).value(), std::move(receipt).value(),
                         std::move(header).value()};
}

}  // namespace gridpact
