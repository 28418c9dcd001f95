// libFuzzer target for Receipt::decode and for a block's stored receipt list
// (decode_receipts, decode_receipt_at). Invariants: no crash or sanitizer report; what
// decodes re-encodes to the same bytes and hashes; one receipt of a list decodes as the
// whole list does.
#include "fuzz_util.hpp"
#include "ledger/block.hpp"

using namespace gridpact;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (auto list = decode_receipts(data, size)) {
    fuzz::require_same(encode_receipts(*list), data, size);
    for (size_t i = 0; i <= list->size(); ++i) {
      auto one = decode_receipt_at(data, size, static_cast<uint32_t>(i));
      if (!one || (i < list->size() ? *one != (*list)[i] : one->has_value())) std::abort();
    }
  }
  auto r = Receipt::decode(data, size);
  if (!r) return 0;
  fuzz::require_same(r->encode(), data, size);
  (void)receipts_root({*r});
  return 0;
}
