// Billing's only contact with the meters module.
#include "modules/agreements/agreements.hpp"

namespace gridpact::agreements {

// TODO(meters merge): read meters::period_energy for each settlement period of the window.
MeteredEnergy metered_energy(const StateReader&, const Hash32&, uint64_t, uint64_t) {
  return {};
}

Status check_meter(const StateReader&, const Hash32& meter, const PublicKey&) {
  if (meter.is_zero()) return error(kMeterNotFound, "an asset needs the meter that measures it");
  return ok();
}

}  // namespace gridpact::agreements
