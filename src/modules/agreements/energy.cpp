// Billing's only contact with the meters module.
#include "modules/agreements/agreements.hpp"
#include "modules/agreements/internal.hpp"
#include "modules/agreements/records.hpp"
#include "modules/meters/meters.hpp"

namespace gridpact::agreements {

// A settlement period belongs to the billing window its start falls in, so consecutive
// windows share none and miss none, aligned or not.
MeteredEnergy metered_energy(const StateReader& s, const Hash32& meter, uint64_t from_ms,
                             uint64_t to_ms) {
  return metered_energy(s, meter, from_ms, to_ms, settlement_ms(s));
}

MeteredEnergy metered_energy(const StateReader& s, const Hash32& meter, uint64_t from_ms,
                             uint64_t to_ms, uint64_t len) {
  MeteredEnergy out;
  // `len` only says whether the chain has settlement periods: their boundaries come from
  // the meters' period schedule (the length can change at a period boundary).
  if (len == 0 || to_ms <= from_ms) return out;
  const meters::PeriodSchedule schedule(s);
  uint64_t first = schedule.from(from_ms);
  uint64_t end = schedule.from(to_ms);
  for (uint64_t p = first; p < end; ++p) {
    auto e = meters::period_energy(s, meter, p);
    if (!e) {
      out.missing++;
      continue;
    }
    out.import_wh = checked_add(out.import_wh, e->import_wh).value_or(UINT64_MAX);
    out.export_wh = checked_add(out.export_wh, e->export_wh).value_or(UINT64_MAX);
  }
  return out;
}

uint64_t settlement_ms(const StateReader& s) {
  return meters::period_length_ms(s);
}

uint64_t reading_lag_ms(const StateReader& s) {
  return meters::period_length_ms(s);
}

// The asset meter is the agreement's for every period its term touches (the meters' period
// schedule gives the boundaries; the length can change at a period boundary).
Status bind_asset_meter(StateOverlay& s, const Billing& b, uint64_t id) {
  uint64_t end = sat_add(b.start_ms, b.period_ms * static_cast<uint64_t>(b.periods));
  const meters::PeriodSchedule schedule(s);
  return meters::bind_meter(s, b.asset_meter, meters::UseKind::kAgreement, id,
                            schedule.at(b.start_ms), schedule.from(end));
}

void release_asset_meter(StateOverlay& s, const Billing& b, uint64_t id, uint64_t now_ms) {
  meters::end_meter_use(s, b.asset_meter, meters::UseKind::kAgreement, id,
                        meters::period_at(s, now_ms) + 1);
}

Status check_meter(const StateReader& s, const Hash32& meter, const PublicKey& owner) {
  auto m = meters::find_meter(s, meter);
  if (!m || m->revoked)
    return error(kMeterNotFound, "no registered meter " + meter.hex().substr(0, 16) + "...");
  if (m->owner != owner) return error(kBadListing, "the meter belongs to another account");
  return ok();
}

}  // namespace gridpact::agreements
