// libFuzzer target for Transaction::decode. Invariants: no crash or sanitizer report on
// any input; what decodes re-encodes to the same bytes; signature checking and ids work
// on anything that decodes.
#include "fuzz_util.hpp"
#include "ledger/transaction.hpp"

using namespace gridpact;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto tx = Transaction::decode(data, size);
  if (!tx) return 0;
  fuzz::require_same(tx->encode(), data, size);
  (void)tx->signature_valid();
  (void)tx->id();
  return 0;
}
