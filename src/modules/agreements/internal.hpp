// Shared inside the agreements library only.
#pragma once

#include "codec/codec.hpp"
#include "modules/agreements/agreements.hpp"

namespace gridpact::agreements {

Terms read_terms(codec::Reader& r);

// metered_energy with the meters' settlement period length already read (billing reads it
// once per block).
MeteredEnergy metered_energy(const StateReader& s, const Hash32& meter, uint64_t from_ms,
                             uint64_t to_ms, uint64_t settle_ms);
uint64_t settlement_ms(const StateReader& s);

struct Billing;
// The asset meter's export belongs to agreement `id` for its term (meters.hpp, "Uses"):
// METER_IN_USE while the market or another agreement holds it.
Status bind_asset_meter(StateOverlay& s, const Billing& b, uint64_t id);
// The agreement closed at `now_ms`: the meter is free from the next settlement period.
void release_asset_meter(StateOverlay& s, const Billing& b, uint64_t id, uint64_t now_ms);

}  // namespace gridpact::agreements
