// Matching owners' systems with hosts' premises: one scoring function used by the
// module's state query and by the SQL read model, so both rank the same way.
//
// A pair fits when the asset's type is one the host prefers (or the host has no
// preference), the premises' area can hold the capacity (area * watts-per-m2 of the type)
// and it passes the filter. Its score (0..1000) adds: type preference 250, how well the
// capacity uses the area 250, nearness within the radius 250, and both parties' ratings
// 250. Queries only (never in a state transition), so floating point is fine here.
#pragma once

#include <optional>

#include "modules/agreements/agreements.hpp"

namespace gridpact::agreements {

// The bounds of the listing queries: the state queries (/assets, /match) examine at most
// kMaxExamined assets per call, by id from after=<id>, and answer `next` (the id to resume
// after) while any remain; the radius is at most kMaxRadiusKm there and in /v1/db (the box
// that the SQL reads grows with its square).
constexpr uint64_t kMaxRadiusKm = 500;
constexpr uint64_t kMaxExamined = 5000;

struct MatchFilter {
  uint8_t types = 0;  // type_bit mask; 0 = any
  uint64_t min_w = 0, max_w = UINT64_MAX;
  uint64_t radius_m = 50'000;
  uint64_t min_rating_milli = 0;  // both parties at least this
  size_t limit = 20;
  Result<bool> parse(const json& params);  // type, min_w, max_w, radius_km, min_rating, limit
};

struct MatchCandidate {
  const Asset* asset = nullptr;
  uint64_t owner_rating_milli = 3000;
};
struct MatchResult {
  uint64_t asset = 0, premises = 0;
  uint32_t score = 0;
  uint64_t distance_m = 0;
  uint64_t owner_rating_milli = 0, host_rating_milli = 0;
};

uint64_t watts_per_m2(AssetType t);
uint64_t distance_m(int64_t lat1_e6, int64_t lon1_e6, int64_t lat2_e6, int64_t lon2_e6);
// Latitude/longitude half-widths (micro-degrees) of a box that contains the radius.
std::pair<int64_t, int64_t> bounding_box_e6(int64_t lat_e6, uint64_t radius_m);
std::optional<MatchResult> score_pair(const Asset& a, uint64_t owner_rating_milli,
                                      const Premises& p, uint64_t host_rating_milli,
                                      const MatchFilter& f);
// Best first, then by asset id; at most f.limit.
void rank(std::vector<MatchResult>& results, size_t limit);
json match_json(const MatchResult& r);

}  // namespace gridpact::agreements
