// A receipt bundle: everything needed to prove, offline and without trusting any node,
// that a signed transaction was committed in a block with a given outcome. It holds the
// canonical bytes of the transaction, its receipt and the block header, and two Merkle
// inclusion proofs (transaction id in tx_root, receipt hash in receipts_root). The
// verifier needs only the proposer's public key (from the genesis document).
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

struct VerifiedReceipt {
  Transaction tx;
  Receipt receipt;
  BlockHeader header;
};

Result<VerifiedReceipt> verify_bundle(const ReceiptBundle& bundle, const PublicKey& proposer);

}  // namespace gridpact
