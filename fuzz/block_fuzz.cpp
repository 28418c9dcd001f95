// libFuzzer target for BlockHeader::decode and Block::decode (a header followed by its
// transactions). Invariants: no crash or sanitizer report; what decodes re-encodes to the
// same bytes.
#include "fuzz_util.hpp"
#include "ledger/block.hpp"

using namespace gridpact;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (auto h = BlockHeader::decode(data, size)) {
    fuzz::require_same(h->encode(), data, size);
    (void)h->signature_valid();
  }
  if (auto b = Block::decode(data, size)) {
    fuzz::require_same(b->encode(), data, size);
    if (b->txs.size() != b->header.tx_count) std::abort();
    (void)tx_root(b->txs);
  }
  return 0;
}
