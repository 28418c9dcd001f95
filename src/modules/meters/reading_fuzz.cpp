// libFuzzer target for the meters decoders: readings (also the MQTT payload), registration,
// revocation and policy payloads. Invariants: no crash or sanitizer report on any input;
// decoding is canonical (what decodes re-encodes to the same bytes); a decoded reading
// run through the handler against a state holding its meter is rejected with a meters
// code (its signature cannot verify) and writes nothing.
#include <algorithm>
#include <cstdlib>
#include <map>

#include "modules/meters/meters.hpp"

using namespace gridpact;
using namespace gridpact::meters;

namespace {

class MemoryState : public StateReader {
 public:
  std::optional<std::string> get(std::string_view) const override { return std::nullopt; }
  void scan(std::string_view, const Visitor&) const override {}
};

bool same(const Bytes& a, const uint8_t* data, size_t size) {
  return a.size() == size && std::equal(a.begin(), a.end(), data);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes input(data, data + size);
  if (auto r = decode_reading(data, size)) {
    if (!same(encode(*r), data, size)) std::abort();
    static MetersModule module;
    static const MemoryState empty;
    StateOverlay state(empty);
    MeterInfo m;
    m.id = r->meter_id;
    m.public_key = Bytes(32, 0x42);  // no signature verifies under it
    m.microgrid = "mg";
    import_meter(state, m, 0, 0);
    size_t writes = state.size();
    BlockInfo block{"fuzz", 1, 1'000'000'000'000};
    Transaction tx;
    tx.type = kReading;
    tx.payload = input;
    std::vector<Event> events;
    TxContext ctx{block, tx, Hash32{}, state, events};
    Status s = module.deliver(ctx);
    if (s.is_ok() || state.size() != writes || !events.empty()) std::abort();
  }
  if (auto p = decode_register(input))
    if (!same(encode(*p), data, size)) std::abort();
  if (auto p = decode_revoke(input))
    if (!same(encode(*p), data, size)) std::abort();
  if (auto p = decode_policy(input))
    if (!same(encode(*p), data, size)) std::abort();
  return 0;
}
