#include "ledger/receipt_proof.hpp"

namespace gridpact {

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
