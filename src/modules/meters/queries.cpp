// The meters module's read-only queries (GET /v1/meters/...).
#include "modules/meters/records.hpp"

namespace gridpact::meters {

namespace {

Result<Hash32> parse_id(std::string_view hex) {
  auto h = Hash32::from_hex(hex);
  if (!h) return error(Code::kInvalidArgument, "meter id must be 64 hex digits");
  return *h;
}

Result<uint64_t> param_u64(const json& params, const char* name, uint64_t dflt) {
  if (!params.contains(name)) return dflt;
  const json& v = params[name];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (!v.is_string()) return error(Code::kInvalidArgument, std::string(name) + " must be a number");
  const std::string& s = v.get_ref<const std::string&>();
  uint64_t out = 0;
  if (s.empty() || s.size() > 20)
    return error(Code::kInvalidArgument, std::string(name) + " must be a number");
  for (char c : s) {
    if (c < '0' || c > '9')
      return error(Code::kInvalidArgument, std::string(name) + " must be a number");
    auto next = checked_mul(out, 10);
    if (next) next = checked_add(*next, static_cast<uint64_t>(c - '0'));
    if (!next) return error(Code::kInvalidArgument, std::string(name) + " is too large");
    out = *next;
  }
  return out;
}

json meter_list(const StateReader& s, const std::vector<Hash32>& ids) {
  json list = json::array();
  for (const Hash32& id : ids)
    if (auto m = find_meter(s, id)) list.push_back(meter_json(*m));
  return list;
}

}  // namespace

Result<json> MetersModule::query(const StateReader& s, std::string_view path, const json& q) const {
  if (path == "params") {
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
    json j = {{"period_ms", p.period_ms},
              {"allow_virtual", p.allow_virtual},
              {"firmware_pcr", p.firmware_pcr},
              {"trusted_roots", roots},
              {"allowed_measurements", meas}};
    if (p.authority) j["authority"] = p.authority->hex();
    if (p.allow_virtual) j["insecure"] = "INSECURE: virtual (software) meters are accepted";
    return j;
  }
  if (path.starts_with("meter/")) {
    auto id = parse_id(path.substr(6));
    if (!id) return id.status();
    auto m = find_meter(s, *id);
    if (!m) return error(kMeterNotFound, "no meter " + id->hex());
    json j = meter_json(*m);
    if (auto l = last_reading(s, *id)) {
      j["last_seq"] = l->seq;
      if (l->has_reading) j["last_period"] = l->period;
      j["import_wh"] = l->import_wh;
      j["export_wh"] = l->export_wh;
    }
    return j;
  }
  if (path == "meters") {
    auto limit = param_u64(q, "limit", kMaxQueryResults);
    if (!limit) return limit.status();
    size_t n = static_cast<size_t>(std::min<uint64_t>(*limit, kMaxQueryResults));
    if (q.contains("owner")) {
      auto owner = q["owner"].is_string() ? PublicKey::from_hex(q["owner"].get<std::string>())
                                          : std::nullopt;
      if (!owner) return error(Code::kInvalidArgument, "owner must be 64 hex digits");
      return json{{"meters", meter_list(s, meters_of_owner(s, *owner, n))}};
    }
    if (q.contains("microgrid") && q["microgrid"].is_string()) {
      auto mg = q["microgrid"].get<std::string>();
      if (!valid_microgrid(mg)) return error(Code::kInvalidArgument, "bad microgrid name");
      return json{{"meters", meter_list(s, meters_in_microgrid(s, mg, n))}};
    }
    return error(Code::kInvalidArgument, "meters needs owner=<pk> or microgrid=<name>");
  }
  if (path.starts_with("readings/")) {
    auto id = parse_id(path.substr(9));
    if (!id) return id.status();
    if (!find_meter(s, *id)) return error(kMeterNotFound, "no meter " + id->hex());
    auto from = param_u64(q, "from", 0);
    auto to = param_u64(q, "to", UINT64_MAX);
    auto limit = param_u64(q, "limit", kMaxQueryResults);
    if (!from) return from.status();
    if (!to) return to.status();
    if (!limit) return limit.status();
    json list = json::array();
    for (const auto& r : readings(
             s, *id, *from, *to, static_cast<size_t>(std::min<uint64_t>(*limit, kMaxQueryResults))))
      list.push_back(reading_json(r));
    return json{{"meter", id->hex()}, {"readings", list}};
  }
  if (path.starts_with("latest/")) {
    auto id = parse_id(path.substr(7));
    if (!id) return id.status();
    auto l = last_reading(s, *id);
    if (!l) return error(kMeterNotFound, "no meter " + id->hex());
    json j = {{"meter", id->hex()},
              {"seq", l->seq},
              {"import_wh", l->import_wh},
              {"export_wh", l->export_wh},
              {"has_reading", l->has_reading}};
    if (l->has_reading) j["period"] = l->period;
    return j;
  }
  if (path.starts_with("energy/")) {
    auto rest = path.substr(7);
    auto slash = rest.find('/');
    if (slash == std::string_view::npos)
      return error(Code::kInvalidArgument, "energy/<meter>/<period>");
    auto id = parse_id(rest.substr(0, slash));
    if (!id) return id.status();
    auto period = param_u64(json{{"period", std::string(rest.substr(slash + 1))}}, "period", 0);
    if (!period) return period.status();
    auto e = period_energy(s, *id, *period);
    if (!e) return error(Code::kNotFound, "no contiguous reading for that period");
    return json{{"meter", id->hex()},
                {"period", *period},
                {"import_wh", e->import_wh},
                {"export_wh", e->export_wh}};
  }
  return error(Code::kNotFound, "no meters query " + std::string(path));
}

}  // namespace gridpact::meters
