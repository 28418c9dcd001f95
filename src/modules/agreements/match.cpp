#include "modules/agreements/match.hpp"

#include <algorithm>
#include <cmath>

namespace gridpact::agreements {
namespace {

Result<uint64_t> param_u64(const json& params, const char* name, uint64_t fallback) {
  if (!params.contains(name)) return fallback;
  const json& v = params[name];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
      return error(Code::kInvalidArgument, std::string(name) + " must be a non-negative integer");
    return std::stoull(s);
  }
  return error(Code::kInvalidArgument, std::string(name) + " must be a non-negative integer");
}

}  // namespace

Result<bool> MatchFilter::parse(const json& params) {
  if (params.contains("type")) {
    const json& t = params["type"];
    if (!t.is_string()) return error(Code::kInvalidArgument, "type must be a name");
    types = 0;
    std::string list = t.get<std::string>();
    size_t pos = 0;
    while (pos <= list.size()) {
      size_t comma = list.find(',', pos);
      if (comma == std::string::npos) comma = list.size();
      auto ty = parse_type(std::string_view(list).substr(pos, comma - pos));
      if (!ty) return error(Code::kInvalidArgument, "unknown type in '" + list + "'");
      types |= type_bit(*ty);
      pos = comma + 1;
    }
  }
  auto mn = param_u64(params, "min_w", min_w);
  auto mx = param_u64(params, "max_w", max_w);
  auto rk = param_u64(params, "radius_km", radius_m / 1000);
  auto mr = param_u64(params, "min_rating", min_rating_milli);  // thousandths
  auto lim = param_u64(params, "limit", limit);
  for (const auto* r : {&mn, &mx, &rk, &mr, &lim})
    if (!*r) return r->status();
  if (*rk > kMaxRadiusKm)
    return error(Code::kInvalidArgument, "radius_km must be <= " + std::to_string(kMaxRadiusKm));
  if (*lim == 0 || *lim > 1000) return error(Code::kInvalidArgument, "limit must be 1..1000");
  if (*mn > *mx) return error(Code::kInvalidArgument, "min_w > max_w");
  min_w = *mn;
  max_w = *mx;
  radius_m = *rk * 1000;
  min_rating_milli = *mr;
  limit = static_cast<size_t>(*lim);
  return true;
}

uint64_t watts_per_m2(AssetType t) {
  switch (t) {
    case AssetType::kPv:
      return 200;
    case AssetType::kWind:
      return 40;
    case AssetType::kHydro:
      return 100;
    case AssetType::kBiomass:
      return 100;
    case AssetType::kBattery:
      return 500;
  }
  return 0;
}

uint64_t distance_m(int64_t lat1_e6, int64_t lon1_e6, int64_t lat2_e6, int64_t lon2_e6) {
  constexpr double kDeg = 3.14159265358979323846 / 180.0 / 1e6;
  double la1 = static_cast<double>(lat1_e6) * kDeg, la2 = static_cast<double>(lat2_e6) * kDeg;
  double dla = la2 - la1, dlo = static_cast<double>(lon2_e6 - lon1_e6) * kDeg;
  double h = std::sin(dla / 2) * std::sin(dla / 2) +
             std::cos(la1) * std::cos(la2) * std::sin(dlo / 2) * std::sin(dlo / 2);
  return static_cast<uint64_t>(2 * 6'371'000.0 * std::asin(std::min(1.0, std::sqrt(h))));
}

std::pair<int64_t, int64_t> bounding_box_e6(int64_t lat_e6, uint64_t radius_m) {
  double dlat = static_cast<double>(radius_m) / 111'195.0;  // degrees per metre at the meridian
  double c = std::cos(static_cast<double>(lat_e6) / 1e6 * 3.14159265358979323846 / 180.0);
  double dlon = c > 0.01 ? dlat / c : 360.0;
  return {static_cast<int64_t>(dlat * 1e6) + 1,
          static_cast<int64_t>(std::min(dlon, 360.0) * 1e6) + 1};
}

std::optional<MatchResult> score_pair(const Asset& a, uint64_t owner_rating, const Premises& p,
                                      uint64_t host_rating, const MatchFilter& f) {
  if (a.agreement != 0) return std::nullopt;  // not listed: serving an agreement
  if (f.types && !(f.types & type_bit(a.type))) return std::nullopt;
  if (a.capacity_w < f.min_w || a.capacity_w > f.max_w) return std::nullopt;
  if (owner_rating < f.min_rating_milli || host_rating < f.min_rating_milli) return std::nullopt;
  bool preferred = p.preferred_types == 0 || (p.preferred_types & type_bit(a.type));
  if (!preferred) return std::nullopt;
  uint64_t holdable = p.area_m2 * watts_per_m2(a.type);
  if (a.capacity_w == 0 || a.capacity_w > holdable) return std::nullopt;
  uint64_t d = distance_m(a.lat_e6, a.lon_e6, p.lat_e6, p.lon_e6);
  if (d > f.radius_m) return std::nullopt;
  MatchResult r;
  r.asset = a.id;
  r.premises = p.id;
  r.distance_m = d;
  r.owner_rating_milli = owner_rating;
  r.host_rating_milli = host_rating;
  double score =
      (p.preferred_types != 0 ? 250.0 : 125.0) +
      250.0 * static_cast<double>(a.capacity_w) / static_cast<double>(holdable) +
      (f.radius_m ? 250.0 * (1.0 - static_cast<double>(d) / static_cast<double>(f.radius_m))
                  : 250.0) +
      250.0 * static_cast<double>(owner_rating + host_rating) / 10000.0;
  r.score = static_cast<uint32_t>(score);
  return r;
}

void rank(std::vector<MatchResult>& results, size_t limit) {
  auto better = [](const MatchResult& x, const MatchResult& y) {
    if (x.score != y.score) return x.score > y.score;
    if (x.asset != y.asset) return x.asset < y.asset;
    return x.premises < y.premises;
  };
  if (results.size() > limit) {
    std::partial_sort(results.begin(), results.begin() + static_cast<ptrdiff_t>(limit),
                      results.end(), better);
    results.resize(limit);
  } else {
    std::sort(results.begin(), results.end(), better);
  }
}

json match_json(const MatchResult& r) {
  return {{"asset", r.asset},
          {"premises", r.premises},
          {"score", r.score},
          {"distance_m", r.distance_m},
          {"owner_rating", r.owner_rating_milli},
          {"host_rating", r.host_rating_milli}};
}

}  // namespace gridpact::agreements
