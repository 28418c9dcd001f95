// The tokens module's queries: GET /v1/tokens/<path> (docs/openapi.yaml).
#include <algorithm>

#include "modules/tokens/keys.hpp"

namespace gridpact::tokens {
namespace {

constexpr std::string_view kSourceNames[5] = {"", "pv", "wind", "hydro", "biomass"};

Result<uint64_t> number(const json& params, const char* k, uint64_t fallback) {
  if (!params.is_object() || !params.contains(k)) return fallback;
  const json& v = params[k];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_string()) {
    const auto& t = v.get_ref<const std::string&>();
    try {
      size_t used = 0;
      uint64_t n = std::stoull(t, &used);
      if (used == t.size() && !t.empty() && t[0] != '-') return n;
    } catch (const std::exception&) {
    }
  }
  return error(Code::kInvalidArgument, std::string(k) + " must be a non-negative integer");
}

Result<PublicKey> account_of(std::string_view hex) {
  auto k = PublicKey::from_hex(hex);
  if (!k) return error(Code::kInvalidArgument, "account must be 64 hex digits");
  return *k;
}

json record_json(const MintRecord& r) {
  return {{"owner", r.owner.hex()},
          {"source", meters::source_name(r.source)},
          {"microgrid", r.microgrid},
          {"virtual", r.is_virtual},
          {"wh", r.wh},
          {"sources", r.sources},
          {"share_ppm", r.share_ppm},
          {"owner_factor_ppm", r.owner_factor_ppm},
          {"scarcity_factor_ppm", r.scarcity_factor_ppm},
          {"rate_per_kwh", r.rate},
          {"amount", r.amount},
          {"agreement", r.agreement}};
}

// An account's mints: its own meters' records (all to it, no agreement) and its parts of
// mints shared under agreements, in (period, meter) order, at most kMaxHistory.
json history_json(const StateReader& s, const PublicKey& who, uint64_t from, uint64_t to) {
  using Row = std::tuple<uint64_t, Hash32, MintShare>;
  std::vector<Row> rows;
  for (const Hash32& meter : meters::meters_of_owner(s, who, meters::kMaxQueryResults)) {
    std::optional<keys::MeterPeriod> end;
    if (to < UINT64_MAX) end = keys::MeterPeriod{meter, to + 1};
    keys::kMinted.range(s, {meter, from}, end, kMaxHistory + 1,
                        [&](const keys::MeterPeriod& k, const MintRecord& r) {
                          if (k.first != meter) return false;  // past the meter's records
                          if (r.agreement == 0)
                            rows.emplace_back(
                                k.second, meter,
                                MintShare{r.source, r.is_virtual, r.wh, r.amount, r.rate, 0});
                          return true;
                        });
  }
  std::optional<keys::HistKey> end;
  if (to < UINT64_MAX) end = keys::HistKey{who, to + 1, Hash32{}};
  keys::kHistory.range(s, {who, from, Hash32{}}, end, kMaxHistory + 1,
                       [&](const keys::HistKey& k, const MintShare& m) {
                         if (std::get<0>(k) != who) return false;  // past the account's
                         rows.emplace_back(std::get<1>(k), std::get<2>(k), m);
                         return true;
                       });
  std::sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) {
    return std::tie(std::get<0>(x), std::get<1>(x)) < std::tie(std::get<0>(y), std::get<1>(y));
  });
  bool truncated = rows.size() > kMaxHistory;
  if (truncated) rows.resize(kMaxHistory);
  json entries = json::array();
  json by_source = json::object();
  json by_period = json::object();
  for (const auto& [period, meter, m] : rows) {
    std::string src(meters::source_name(m.source));
    entries.push_back({{"period", period},
                       {"meter", meter.hex()},
                       {"source", src},
                       {"virtual", m.is_virtual},
                       {"wh", m.wh},
                       {"rate_per_kwh", m.rate},
                       {"amount", m.amount},
                       {"agreement", m.agreement}});
    auto& b = by_source[src];
    if (b.is_null()) b = {{"wh", uint64_t{0}}, {"amount", uint64_t{0}}};
    b["wh"] = b["wh"].get<uint64_t>() + m.wh;
    b["amount"] = b["amount"].get<uint64_t>() + m.amount;
    auto& p = by_period[std::to_string(period)][src];
    p = (p.is_null() ? uint64_t{0} : p.get<uint64_t>()) + m.amount;
  }
  return {{"account", who.hex()},
          {"entries", entries},
          {"by_source", by_source},
          {"by_period", by_period},
          {"truncated", truncated}};
}

// A microgrid's mix over the window ending at the last minted period, the factors each
// source earns there, and (with an account) that account's owner factor and rates.
Result<json> microgrid_json(const StateReader& s, const std::string& mg, const json& params) {
  Params p = load_params(s);
  auto next = next_period(s);
  auto period = number(params, "period", next && *next > 0 ? *next - 1 : 0);
  if (!period) return period.status();
  auto w = microgrid_window(s, p, mg, *period);
  uint64_t all = w[1] + w[2] + w[3] + w[4];
  std::optional<uint64_t> owner_ppm;
  json out = {{"microgrid", mg},
              {"period", *period},
              {"window_periods", p.window_periods},
              {"renewable_wh", all}};
  if (params.is_object() && params.contains("account")) {
    if (!params["account"].is_string())
      return error(Code::kInvalidArgument, "account must be 64 hex digits");
    auto who = account_of(params["account"].get<std::string>());
    if (!who) return who.status();
    uint64_t n = owner_sources(s, p, *who, *period);
    owner_ppm = owner_factor_ppm(p, n);
    out["account"] = {{"account", who->hex()}, {"sources", n}, {"owner_factor_ppm", *owner_ppm}};
  }
  json sources = json::object();
  for (int i = 1; i <= 4; ++i) {
    uint64_t share = all ? mul_div(w[i], kPpm, all) : 0;
    uint64_t scarcity = scarcity_factor_ppm(p, share);
    auto src = static_cast<meters::Source>(i);
    json row = {{"wh", w[i]},
                {"share_ppm", share},
                {"scarcity_factor_ppm", scarcity},
                {"base_rate_per_kwh", p.base_rate[i]}};
    if (owner_ppm) row["rate_per_kwh"] = rate_per_kwh(p, src, *owner_ppm, scarcity);
    sources[std::string(kSourceNames[i])] = row;
  }
  out["sources"] = sources;
  return out;
}

}  // namespace

void TokensModule::declare_routes() {
  using T = RouteParam::Type;
  // Every route answers NOT_FOUND on a chain without the tokens module's genesis section.
  auto add = [this](std::string path, std::string_view summary, std::vector<RouteParam> params,
                    Route::Handler h) {
    route(std::move(path), summary, std::move(params),
          [h = std::move(h)](const StateReader& s, const QueryArgs& q) -> Result<json> {
            if (!s.get(param_key("tokens.epoch_cap")))
              return error(Code::kNotFound, "no tokens here");
            return h(s, q);
          });
  };
  add("/pool", "the redemption pool: balance, totals, redeem rate", {},
      [](const StateReader& s, const QueryArgs&) -> Result<json> {
        PoolTotals t = pool_totals(s);
        return json{{"account", pool_account().hex()},
                    {"balance", pool_balance(s)},
                    {"funded", t.funded},
                    {"redeemed", t.redeemed},
                    {"reimbursed", t.reimbursed},
                    {"drained", t.drained},
                    {"redeem_rate", read_u64_param(s, "tokens.redeem_rate")}};
      });
  add("/supply", "tokens minted, burned and held", {},
      [](const StateReader& s, const QueryArgs&) -> Result<json> {
        Supply v = supply(s);
        auto next = next_period(s);
        return json{{"minted", v.minted},
                    {"burned", v.burned},
                    {"held", v.minted - v.burned},
                    {"next_period", next ? json(*next) : json(nullptr)}};
      });
  add("/balance/{account}", "an account's token balance", {{"account", T::kHex32, "the account"}},
      [](const StateReader& s, const QueryArgs& q) -> Result<json> {
        PublicKey who = PublicKey::from_span(q.hex32("account")->bytes.data());
        return json{{"account", who.hex()}, {"balance", balance(s, who)}};
      });
  add("/history/{account}", "an account's mints by source and period",
      {{"account", T::kHex32, "the account"},
       {"from", T::kU64, "the first period"},
       {"to", T::kU64, "the last period"}},
      [](const StateReader& s, const QueryArgs& q) -> Result<json> {
        PublicKey who = PublicKey::from_span(q.hex32("account")->bytes.data());
        return history_json(s, who, q.u64("from").value_or(0), q.u64("to").value_or(UINT64_MAX));
      });
  add("/microgrid/{name}", "a microgrid's renewable mix and factors (why an account got its rate)",
      {{"name", T::kText, "the microgrid", true, meters::kMaxMicrogrid},
       {"period", T::kU64, "the window's last period (default: the last minted)"},
       {"account", T::kHex32, "an account whose owner factor and rates to show"}},
      [](const StateReader& s, const QueryArgs& q) -> Result<json> {
        return microgrid_json(s, *q.text("name"), q.params());
      });
  add("/mint/{meter}/{period}", "what a meter minted in a period, with its factors",
      {{"meter", T::kHex32, "the meter id"}, {"period", T::kU64, "the period"}},
      [](const StateReader& s, const QueryArgs& q) -> Result<json> {
        Hash32 meter = *q.hex32("meter");
        uint64_t period = *q.u64("period");
        auto r = mint_record(s, meter, period);
        if (!r) return error(Code::kNotFound, "nothing minted for that meter and period");
        json j = record_json(*r);
        j["meter"] = meter.hex();
        j["period"] = period;
        return j;
      });
  add("/commitments/{order}", "tokens committed to a bid",
      {{"order", T::kHex32, "the bid's order id"}},
      [](const StateReader& s, const QueryArgs& q) -> Result<json> {
        Hash32 id = *q.hex32("order");
        auto c = commitment(s, id);
        if (!c) return error(Code::kNotFound, "no tokens committed to that order");
        return json{{"order", id.hex()},
                    {"owner", c->owner.hex()},
                    {"amount", c->amount},
                    {"period", c->period}};
      });
  add("/params", "the module's parameters", {},
      [this](const StateReader& s, const QueryArgs&) -> Result<json> {
        json out = json::object();
        for (const auto& spec : param_table())
          out[std::string(spec.short_name())] =
              param_json(decode_param(spec, s.get(param_key(spec.name)).value_or("")));
        return out;
      });
}

}  // namespace gridpact::tokens
