// libFuzzer target for the bank module's payload decoders (transfer, mint, burn), each
// tried on every input. Invariants: no crash or sanitizer report; what decodes re-encodes
// to the same bytes.
#include "fuzz_util.hpp"
#include "modules/bank/bank.hpp"

using namespace gridpact;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, data + size);
  if (auto p = bank::decode_transfer(in)) fuzz::require_same(bank::encode(*p), data, size);
  if (auto p = bank::decode_mint(in)) fuzz::require_same(bank::encode(*p), data, size);
  if (auto p = bank::decode_burn(in)) fuzz::require_same(bank::encode(*p), data, size);
  return 0;
}
