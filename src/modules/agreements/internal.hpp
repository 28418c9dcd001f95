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

}  // namespace gridpact::agreements
