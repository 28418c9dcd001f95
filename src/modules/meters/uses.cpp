// One use at a time: a generating meter's export is paid by the market or by one
// agreement, never by two (meters.hpp, "Uses").
#include "modules/meters/records.hpp"

namespace gridpact::meters {

namespace {

constexpr std::string_view kUsePrefix = "meters/use/";

std::string use_key(const Hash32& meter) {
  return std::string(kUsePrefix) + std::string(meter.view());
}

std::string encode_use(const MeterUse& u) {
  return std::string(1, static_cast<char>(u.kind)) + encode_u64(u.id) + encode_u64(u.floor) +
         encode_u64(u.until);
}

std::string use_name(const MeterUse& u) {
  return u.kind == UseKind::kMarket ? std::string("market offers")
                                    : "agreement " + std::to_string(u.id);
}

}  // namespace

std::optional<MeterUse> meter_use(const StateReader& s, const Hash32& meter) {
  auto v = s.get(use_key(meter));
  if (!v || v->size() != 25) return std::nullopt;
  std::string_view sv(*v);
  return MeterUse{static_cast<UseKind>(sv[0]), *decode_u64(sv.substr(1, 8)),
                  *decode_u64(sv.substr(9, 8)), *decode_u64(sv.substr(17, 8))};
}

Status bind_meter(StateOverlay& s, const Hash32& meter, UseKind kind, uint64_t id,
                  uint64_t from_period, uint64_t until_period) {
  MeterUse next{kind, id, 0, until_period};
  if (auto held = meter_use(s, meter)) {
    if (held->kind == kind && held->id == id) {
      if (from_period < held->floor)
        return error(kMeterInUse, "meter " + meter.hex().substr(0, 16) + "...'s periods before " +
                                      std::to_string(held->floor) + " belong to another use");
      next.floor = held->floor;
      next.until = std::max(held->until, until_period);
    } else {
      if (held->until > from_period)
        return error(kMeterInUse, "meter " + meter.hex().substr(0, 16) + "... serves " +
                                      use_name(*held) + " until period " +
                                      std::to_string(held->until));
      next.floor = held->until;
    }
  }
  s.put(use_key(meter), encode_use(next));
  return ok();
}

void end_meter_use(StateOverlay& s, const Hash32& meter, UseKind kind, uint64_t id,
                   uint64_t until_period) {
  auto held = meter_use(s, meter);
  if (!held || held->kind != kind || held->id != id || held->until <= until_period) return;
  held->until = std::max(held->floor, until_period);
  s.put(use_key(meter), encode_use(*held));
}

}  // namespace gridpact::meters
