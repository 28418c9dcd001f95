// libFuzzer target for decode_bundle and, for what decodes, the offline bundle verifier
// (which decodes the transaction, receipt and header inside and checks two Merkle proofs).
// Invariants: no crash or sanitizer report; what decodes re-encodes to the same bytes; a
// mutated bundle never verifies unless it is still a consistent one.
#include "fuzz_util.hpp"
#include "ledger/receipt_proof.hpp"

using namespace gridpact;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto b = decode_bundle(data, size);
  if (!b) return 0;
  fuzz::require_same(encode_bundle(*b), data, size);
  // Verify against the header's own proposer, so the verifier gets past the key check.
  auto header = BlockHeader::decode(b->header.data(), b->header.size());
  PublicKey proposer = header ? header->proposer : PublicKey{};
  auto v = verify_bundle(*b, proposer);
  if (v && (v->receipt.tx_id != v->tx.id() || v->receipt.height != v->header.height)) std::abort();
  return 0;
}
