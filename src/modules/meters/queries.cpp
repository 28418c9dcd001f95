// The meters module's read-only queries (GET /v1/meters/...).
#include "modules/meters/records.hpp"

namespace gridpact::meters {

namespace {

json meter_list(const StateReader& s, const std::vector<Hash32>& ids) {
  json list = json::array();
  for (const Hash32& id : ids)
    if (auto m = find_meter(s, id)) list.push_back(meter_json(*m));
  return list;
}

}  // namespace

void MetersModule::declare_routes() {
  using T = RouteParam::Type;
  route("/params", "the attestation policy: period length, trusted roots, measurements", {},
        [](const StateReader& s, const QueryArgs&) -> Result<json> {
          Params p = params(s);
          json roots = json::array(), meas = json::array();
          s.scan(kRootPrefix, [&](std::string_view k, std::string_view) {
            roots.push_back(to_hex(reinterpret_cast<const uint8_t*>(k.data()) + kRootPrefix.size(),
                                   k.size() - kRootPrefix.size()));
            return true;
          });
          s.scan(kMeasPrefix, [&](std::string_view k, std::string_view) {
            meas.push_back(to_hex(reinterpret_cast<const uint8_t*>(k.data()) + kMeasPrefix.size(),
                                  k.size() - kMeasPrefix.size()));
            return true;
          });
          json schedule = json::array();
          const PeriodSchedule periods(s);
          for (const auto& g : periods.segments())
            schedule.push_back({{"first_period", g.first_period},
                                {"start_ms", g.start_ms},
                                {"period_ms", g.period_ms}});
          json j = {{"period_ms", p.period_ms},         {"period_schedule", schedule},
                    {"allow_virtual", p.allow_virtual}, {"firmware_pcr", p.firmware_pcr},
                    {"trusted_roots", roots},           {"allowed_measurements", meas}};
          if (p.authority) j["authority"] = p.authority->hex();
          if (p.allow_virtual) j["insecure"] = "INSECURE: virtual (software) meters are accepted";
          return j;
        });
  route("/meter/{id}", "one meter and its last reading", {{"id", T::kHex32, "meter id"}},
        [](const StateReader& s, const QueryArgs& a) -> Result<json> {
          Hash32 id = *a.hex32("id");
          auto m = find_meter(s, id);
          if (!m) return error(kMeterNotFound, "no meter " + id.hex());
          json j = meter_json(*m);
          // Its first reading counts only for this period (deliver_reading).
          j["registered_period"] = period_at(s, m->registered_time_ms);
          if (auto l = last_reading(s, id)) {
            j["last_seq"] = l->seq;
            if (l->has_reading) j["last_period"] = l->period;
            j["import_wh"] = l->import_wh;
            j["export_wh"] = l->export_wh;
          }
          return j;
        });
  route("/meters", "the meters of an owner or of a microgrid",
        {{"owner", T::kText, "owner's account (hex key)", false, 64},
         {"microgrid", T::kText, "microgrid name", false, kMaxMicrogrid},
         {"limit", T::kU64, "at most this many (1000 at most)"}},
        [](const StateReader& s, const QueryArgs& a) -> Result<json> {
          size_t n = static_cast<size_t>(
              std::min<uint64_t>(a.u64("limit").value_or(kMaxQueryResults), kMaxQueryResults));
          if (auto who = a.text("owner")) {
            auto owner = PublicKey::from_hex(*who);
            if (!owner) return error(Code::kInvalidArgument, "owner must be 64 hex digits");
            return json{{"meters", meter_list(s, meters_of_owner(s, *owner, n))}};
          }
          if (auto mg = a.text("microgrid")) {
            if (!valid_microgrid(*mg)) return error(Code::kInvalidArgument, "bad microgrid name");
            return json{{"meters", meter_list(s, meters_in_microgrid(s, *mg, n))}};
          }
          return error(Code::kInvalidArgument, "meters needs owner=<pk> or microgrid=<name>");
        });
  route("/readings/{id}", "a meter's stored readings, by period",
        {{"id", T::kHex32, "meter id"},
         {"from", T::kU64, "from this period"},
         {"to", T::kU64, "to this period"},
         {"limit", T::kU64, "at most this many (1000 at most)"}},
        [](const StateReader& s, const QueryArgs& a) -> Result<json> {
          Hash32 id = *a.hex32("id");
          if (!find_meter(s, id)) return error(kMeterNotFound, "no meter " + id.hex());
          json list = json::array();
          for (const auto& r :
               readings(s, id, a.u64("from").value_or(0), a.u64("to").value_or(UINT64_MAX),
                        static_cast<size_t>(std::min<uint64_t>(
                            a.u64("limit").value_or(kMaxQueryResults), kMaxQueryResults))))
            list.push_back(reading_json(r));
          return json{{"meter", id.hex()}, {"readings", list}};
        });
  route("/latest/{id}", "a meter's latest reading", {{"id", T::kHex32, "meter id"}},
        [](const StateReader& s, const QueryArgs& a) -> Result<json> {
          Hash32 id = *a.hex32("id");
          auto l = last_reading(s, id);
          if (!l) return error(kMeterNotFound, "no meter " + id.hex());
          json j = {{"meter", id.hex()},
                    {"seq", l->seq},
                    {"import_wh", l->import_wh},
                    {"export_wh", l->export_wh},
                    {"has_reading", l->has_reading}};
          if (l->has_reading) j["period"] = l->period;
          return j;
        });
  route("/energy/{id}/{period}", "a meter's energy in one period (contiguous readings)",
        {{"id", T::kHex32, "meter id"}, {"period", T::kU64, "period number"}},
        [](const StateReader& s, const QueryArgs& a) -> Result<json> {
          Hash32 id = *a.hex32("id");
          uint64_t period = *a.u64("period");
          auto e = period_energy(s, id, period);
          if (!e) return error(Code::kNotFound, "no contiguous reading for that period");
          return json{{"meter", id.hex()},
                      {"period", period},
                      {"import_wh", e->import_wh},
                      {"export_wh", e->export_wh}};
        });
}

}  // namespace gridpact::meters
