// Test helpers of the meters module (target gridpact_meters_testing, linked by tests, the
// benchmarks and the simulator): INSECURE virtual meters, which a chain must allow.
#pragma once

#include "modules/meters/meters.hpp"

namespace gridpact::meters {

// A registration payload with virtual evidence bound to `owner` (the other fields are
// `fields`'), and a signed reading. The meter id is virtual_meter_id(meter).
RegisterPayload virtual_registration(const KeyPair& meter, const PublicKey& owner,
                                     std::string_view chain_id, RegisterPayload fields);
Reading virtual_reading(const KeyPair& meter, std::string_view chain_id, uint64_t period,
                        uint64_t seq, uint64_t import_wh, uint64_t export_wh);

}  // namespace gridpact::meters
