// The agreements module's JSON views and read-only queries (GET /v1/agreements/...).
#include "modules/agreements/match.hpp"
#include "modules/agreements/records.hpp"

namespace gridpact::agreements {
namespace {

// Visits the assets with ids after `after` in id order, at most kMaxExamined of them (point
// reads: ids are issued in sequence), while `fn` returns true. Returns the id to resume
// after, or nullopt once the last asset issued was examined.
std::optional<uint64_t> each_asset(const StateReader& s, uint64_t after,
                                   const std::function<bool(const Asset&)>& fn) {
  const uint64_t last = get_u64(s, "agr/next/asset");
  uint64_t id = after;
  for (uint64_t examined = 0; id < last && examined < kMaxExamined; ++examined) {
    auto v = s.get(asset_key(++id));
    if (!v) continue;
    auto a = decode_bytes<Asset>(*v, read_asset_state);
    if (a && !fn(*a)) break;
  }
  if (id >= last) return std::nullopt;
  return id;
}

}  // namespace

json asset_json(const Asset& a) {
  return {{"id", a.id},
          {"owner", a.owner.hex()},
          {"type", type_name(a.type)},
          {"capacity_w", a.capacity_w},
          {"meter", a.meter.hex()},
          {"microgrid", a.microgrid},
          {"lat_e6", a.lat_e6},
          {"lon_e6", a.lon_e6},
          {"price_micro_per_kwh", a.price_micro_per_kwh},
          {"agreement", a.agreement},
          {"listed", a.agreement == 0},
          {"name", a.name}};
}
json premises_json(const Premises& p) {
  json types = json::array();
  for (uint8_t i = 1; i <= 5; ++i)
    if (p.preferred_types & (1u << i)) types.push_back(type_name(static_cast<AssetType>(i)));
  return {{"id", p.id},
          {"host", p.host.hex()},
          {"area_m2", p.area_m2},
          {"lat_e6", p.lat_e6},
          {"lon_e6", p.lon_e6},
          {"microgrid", p.microgrid},
          {"preferred_types", types},
          {"expected_consumption_wh", p.expected_consumption_wh},
          {"meter", p.meter.is_zero() ? "" : p.meter.hex()},
          {"name", p.name}};
}
json agreement_json(const Terms& t, const AgreementState& st) {
  json signed_by = json::array();
  for (size_t i = 0; i < t.parties.size(); ++i)
    if (st.signed_mask & (1u << i)) signed_by.push_back(i);
  return {{"status", status_name(st.status)},
          {"terms_hash", st.terms_hash.hex()},
          {"terms", terms_json(t)},
          {"signed_by", signed_by},
          {"billed_periods", st.billed_periods},
          {"arrears", st.arrears},
          {"arrears_total", st.arrears_total()},
          {"arrears_since_ms", st.arrears_since_ms},
          {"penalty_applied", st.penalty_applied},
          {"next_due_ms", st.next_due_ms},
          {"total_paid", st.total_paid},
          {"proposed_ms", st.proposed_ms},
          {"activated_ms", st.activated_ms},
          {"closed_ms", st.closed_ms}};
}
json payment_json(const Payment& p) {
  static const char* kStatus[] = {"paid", "missed", "paid_late"};
  return {{"agreement", p.agreement},
          {"period", p.period},
          {"from_ms", p.from_ms},
          {"to_ms", p.to_ms},
          {"generated_wh", p.generated_wh},
          {"surplus_wh", p.surplus_wh},
          {"billed_wh", p.billed_wh},
          {"missing_readings", p.missing_readings},
          {"energy_charge", p.energy_charge},
          {"rebate", p.rebate},
          {"instalment", p.instalment},
          {"surplus_revenue", p.surplus_revenue},
          {"due", p.due},
          {"status", kStatus[static_cast<int>(p.status)]},
          {"height", p.height}};
}

std::vector<std::string> AgreementsModule::account_keys(const PublicKey& account) const {
  return {rating_key(account)};
}

namespace {

using T = RouteParam::Type;
constexpr RouteParam kId{"id", T::kU64, "agreement id"};

Result<json> agreement(const StateReader& s, uint64_t id, std::optional<Terms>& t,
                       std::optional<AgreementState>& st) {
  t = find_terms(s, id);
  st = find_agreement(s, id);
  if (!t || !st) return error(kAgreementNotFound, "no agreement " + std::to_string(id));
  return json();
}

}  // namespace

void AgreementsModule::declare_routes() {
  route("/assets/{id}", "one asset, with its owner's rating", {{"id", T::kU64, "asset id"}},
        [](const StateReader& s, const QueryArgs& q) -> Result<json> {
          uint64_t id = *q.u64("id");
          auto a = find_asset(s, id);
          if (!a) return error(kAssetNotFound, "no asset " + std::to_string(id));
          json j = asset_json(*a);
          j["owner_rating"] = rating_milli(rating_totals(s, a->owner));
          return j;
        });
  route("/premises/{id}", "one premises, with its host's rating", {{"id", T::kU64, "premises id"}},
        [](const StateReader& s, const QueryArgs& q) -> Result<json> {
          uint64_t id = *q.u64("id");
          auto pr = find_premises(s, id);
          if (!pr) return error(kPremisesNotFound, "no premises " + std::to_string(id));
          json j = premises_json(*pr);
          j["host_rating"] = rating_milli(rating_totals(s, pr->host));
          return j;
        });
  route("/agreements/{id}", "one agreement: terms, status, arrears, pending amendment", {kId},
        [](const StateReader& s, const QueryArgs& q) -> Result<json> {
          uint64_t id = *q.u64("id");
          std::optional<Terms> t;
          std::optional<AgreementState> st;
          if (auto found = agreement(s, id, t, st); !found) return found;
          json j = agreement_json(*t, *st);
          j["id"] = id;
          if (auto raw = s.get(amend_key(id)); raw && raw->size() > 4)
            if (auto n = decode_terms(Bytes(raw->begin(), raw->end() - 4)))
              j["pending_amendment"] = {{"terms", terms_json(*n)},
                                        {"terms_hash", terms_hash(*n).hex()}};
          return j;
        });
  route("/agreements/{id}/text", "an agreement's terms as the text its parties sign", {kId},
        [](const StateReader& s, const QueryArgs& q) -> Result<json> {
          std::optional<Terms> t;
          std::optional<AgreementState> st;
          if (auto found = agreement(s, *q.u64("id"), t, st); !found) return found;
          return json{{"terms_hash", st->terms_hash.hex()},
                      {"text", render_terms(*t, st->terms_hash)}};
        });
  route("/agreements/{id}/payments", "an agreement's billed periods", {kId},
        [](const StateReader& s, const QueryArgs& q) -> Result<json> {
          uint64_t id = *q.u64("id");
          std::optional<Terms> t;
          std::optional<AgreementState> st;
          if (auto found = agreement(s, id, t, st); !found) return found;
          json out = json::array();
          s.scan(id_key("agr/pay/", id), [&](std::string_view, std::string_view v) {
            if (auto pm = decode_bytes<Payment>(v, read_payment)) out.push_back(payment_json(*pm));
            return true;
          });
          return json{{"agreement", id}, {"payments", out}};
        });
  route("/ratings/{account}", "an account's rating", {{"account", T::kHex32, "the account"}},
        [](const StateReader& s, const QueryArgs& q) -> Result<json> {
          PublicKey who = PublicKey::from_span(q.hex32("account")->bytes.data());
          RatingTotals t = rating_totals(s, who);
          return json{{"account", who.hex()},
                      {"count", t.count},
                      {"weight", t.weight},
                      {"rating", rating_milli(t)}};
        });
  route("/log/{height}", "what a block changed, for the SQL read model",
        {{"height", T::kU64, "block height"}},
        [](const StateReader& s, const QueryArgs& q) -> Result<json> {
          uint64_t h = *q.u64("height");
          json out = json::array();
          for (const auto& e : block_log(s, h))
            out.push_back({{"kind", static_cast<int>(e.kind)}, {"id", e.id}, {"period", e.period}});
          return json{{"height", h}, {"entries", out}};
        });
  // Filters of the listings (MatchFilter::parse checks them together), and the cursor.
  std::vector<RouteParam> filter = {
      {"type", T::kText, "asset types, comma-separated (pv, wind, ...)", false, 64},
      {"min_w", T::kU64, "smallest capacity (W)"},
      {"max_w", T::kU64, "largest capacity (W)"},
      {"radius_km", T::kU64, "at most this far from the premises (km, <= 500)", false,
       kMaxRadiusKm},
      {"min_rating", T::kU64, "owner's rating at least (thousandths)"},
      {"limit", T::kU64, "at most this many (1..1000)", false, 1000},
      {"after", T::kU64,
       "resume after this asset id (the previous answer's next); at most 5,000 assets are "
       "examined per call"}};
  route("/assets",
        "listed assets by id, a page of at most 5,000 examined (next: the after= of the "
        "following page; the SQL read model is the fast path)",
        filter, [](const StateReader& s, const QueryArgs& q) -> Result<json> {
          MatchFilter f;
          if (auto r = f.parse(q.params()); !r) return r.status();
          json out = json::array();
          auto next = each_asset(s, q.u64("after").value_or(0), [&](const Asset& a) {
            if (a.agreement || (f.types && !(f.types & type_bit(a.type))) ||
                a.capacity_w < f.min_w || a.capacity_w > f.max_w)
              return true;
            out.push_back(asset_json(a));
            return out.size() < f.limit;
          });
          return json{{"assets", out}, {"next", next ? json(*next) : json(nullptr)}};
        });
  filter.insert(filter.begin(), {"premises", T::kU64, "premises id", true});
  route(
      "/match",
      "listed assets ranked for one premises, within a page of at most 5,000 examined by id "
      "(next: the after= of the following page; gridpact query match --db: indexed)",
      filter, [](const StateReader& s, const QueryArgs& q) -> Result<json> {
        // Ranks listed assets for one premises, a page of state at a time (the SQL read
        // model answers the same query at once with indexes: gridpact query match --db).
        // A client that wants the best of all merges the pages' matches.
        MatchFilter f;
        if (auto r = f.parse(q.params()); !r) return r.status();
        uint64_t pid = q.u64("premises").value_or(0);
        if (pid == 0) return error(Code::kInvalidArgument, "match needs premises=<id>");
        auto pr = find_premises(s, pid);
        if (!pr) return error(kPremisesNotFound, "no premises " + std::to_string(pid));
        uint64_t host_rating = rating_milli(rating_totals(s, pr->host));
        std::vector<MatchResult> results;
        auto next = each_asset(s, q.u64("after").value_or(0), [&](const Asset& a) {
          if (auto r = score_pair(a, rating_milli(rating_totals(s, a.owner)), *pr, host_rating, f))
            results.push_back(*r);
          return true;
        });
        rank(results, f.limit);
        json out = json::array();
        for (const auto& r : results) out.push_back(match_json(r));
        return json{
            {"premises", pid}, {"matches", out}, {"next", next ? json(*next) : json(nullptr)}};
      });
}

}  // namespace gridpact::agreements
