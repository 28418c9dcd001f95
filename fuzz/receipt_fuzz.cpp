// libFuzzer target for Receipt::decode. Invariants: no crash or sanitizer report; what
// decodes re-encodes to the same bytes and hashes.
#include "fuzz_util.hpp"
#include "ledger/block.hpp"

using namespace gridpact;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = Receipt::decode(data, size);
  if (!r) return 0;
  fuzz::require_same(r->encode(), data, size);
  (void)receipts_root({*r});
  return 0;
}
