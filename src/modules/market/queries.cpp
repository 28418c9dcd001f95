// The market module's read-only queries, declared as routes (GET /v1/market/...).
#include "modules/market/records.hpp"

namespace gridpact::market {

namespace {

using P = RouteParam;
using T = RouteParam::Type;
constexpr P kPeriod{"period", T::kU64, "delivery period number", true};
constexpr P kCommodity{"commodity", T::kText, "commodity (default electricity)", false,
                       kMaxCommodity};

Status has_market(const StateReader& s) {
  if (!kConfig.has(s)) return error(Code::kNotFound, "no market in this chain");
  return ok();
}
std::string commodity_of(const QueryArgs& a) {
  return a.text("commodity").value_or(std::string(kElectricity));
}

Result<json> book(const StateReader& s, const QueryArgs& a) {
  if (Status st = has_market(s); !st) return st;
  std::string commodity = commodity_of(a);
  uint64_t period = *a.u64("period");
  json orders = json::array();
  s.scan(book_prefix(commodity, period), [&](std::string_view, std::string_view v) {
    Hash32 id = Hash32::from_span(reinterpret_cast<const uint8_t*>(v.data()));
    if (auto o = find_order(s, id)) orders.push_back(order_json(id, *o));
    return orders.size() < 10'000;
  });
  return json{{"commodity", commodity}, {"period", period}, {"orders", orders}};
}

std::optional<ClearedSummary> cleared_of(const StateReader& s, const std::string& commodity,
                                         uint64_t period) {
  bool named = !commodity.empty() && commodity.size() <= kMaxCommodity;
  return named ? kCleared.get(s, {commodity, period}) : std::nullopt;
}

// Pages of the trades and mix queries: at most `limit` (<= kMaxPage) entries answered, and
// examined (mix: 4 x kMaxPage of the buyer's index, other commodities' included).
constexpr uint64_t kMaxPage = 1000;
Result<uint64_t> page_limit(const QueryArgs& a) {
  uint64_t limit = a.u64("limit").value_or(kMaxPage);
  if (limit == 0 || limit > kMaxPage) return error(Code::kInvalidArgument, "limit must be 1..1000");
  return limit;
}

Result<json> trades(const StateReader& s, const QueryArgs& a) {
  if (Status st = has_market(s); !st) return st;
  std::string commodity = commodity_of(a);
  if (commodity.empty() || commodity.size() > kMaxCommodity)
    return error(Code::kInvalidArgument, "bad commodity");
  uint64_t period = *a.u64("period");
  auto limit = page_limit(a);
  if (!limit) return limit.status();
  auto cleared = cleared_of(s, commodity, period);
  auto who = a.text("account");
  // Trades are numbered 0, 1, ... in their period: `limit` of them from `from` (point reads).
  json out = json::array();
  const std::string prefix = trade_prefix(commodity, period);
  uint64_t n = a.u64("from").value_or(0);
  std::optional<std::string> v;
  for (uint64_t examined = 0; examined < *limit && (v = s.get(prefix + hex16(n))); ++examined) {
    TradeRecord t = decode_trade(*v);
    if (!who || t.buyer.hex() == *who || t.seller.hex() == *who) out.push_back(trade_json(t));
    ++n;
  }
  const bool more = v && s.get(prefix + hex16(n)).has_value();
  return json{{"commodity", commodity},
              {"period", period},
              {"cleared", cleared ? cleared->to_json() : json(nullptr)},
              {"trades", out},
              {"next", more ? json(n) : json(nullptr)}};
}

Result<json> price(const StateReader& s, const QueryArgs& a) {
  if (Status st = has_market(s); !st) return st;
  auto cleared = cleared_of(s, commodity_of(a), *a.u64("period"));
  if (!cleared) return error(Code::kNotFound, "period not cleared");
  return cleared->to_json();
}

Result<json> settlement(const StateReader& s, const QueryArgs& a) {
  if (Status st = has_market(s); !st) return st;
  std::string commodity = commodity_of(a);
  uint64_t period = *a.u64("period");
  std::string who = *a.text("account");
  bool named = !commodity.empty() && commodity.size() <= kMaxCommodity;
  auto account = PublicKey::from_hex(who);
  auto v = account && named ? kStatements.get(s, {commodity, period, *account}) : std::nullopt;
  if (!v) {
    bool pending = s.get("market/unsettled/" + hex16(period) + "/" + commodity).has_value();
    return json{{"account", who}, {"period", period}, {"settled", false}, {"pending", pending}};
  }
  json j = v->to_json();
  j["account"] = account->hex();
  j["period"] = period;
  j["commodity"] = commodity;
  j["settled"] = true;
  return j;
}

Result<json> mix(const StateReader& s, const QueryArgs& a) {
  if (Status st = has_market(s); !st) return st;
  std::string commodity = commodity_of(a);
  std::string who = a.hex32("account")->hex();
  uint64_t first = meters::period_at(s, a.u64("from_ms").value_or(0));
  uint64_t last = a.u64("to_ms").value_or(std::numeric_limits<uint64_t>::max());
  last = last == 0 ? 0 : meters::period_at(s, last - 1);
  auto limit = page_limit(a);
  if (!limit) return limit.status();
  // The cursor: the last entry's key under market/buyer/<account>/ (its next), a period
  // first; the scan starts at the narrowest key prefix that holds both ends of the range.
  const std::string after = a.text("after").value_or("");
  if (!after.empty()) {
    if (after.size() < 16 || after.find_first_not_of("0123456789abcdef") < 16)
      return error(Code::kInvalidArgument, "after must be a previous answer's next");
    first = std::max<uint64_t>(first, std::stoull(after.substr(0, 16), nullptr, 16));
  }
  const std::string lo = hex16(first), hi = hex16(last);
  size_t common = 0;
  while (common < 16 && lo[common] == hi[common]) ++common;
  const std::string prefix = "market/buyer/" + who + "/";
  std::map<std::string, uint64_t> by_source;
  uint64_t total = 0, renewable = 0;
  json out = json::array();
  std::string last_seen;  // the last entry examined: where the following page resumes
  uint64_t examined = 0;
  bool more = false;
  s.scan(prefix + lo.substr(0, common), [&](std::string_view k, std::string_view) {
    // market/buyer/<64>/<period 16>/<commodity>/<n 16>
    std::string_view rest = k.substr(prefix.size());
    if (!after.empty() && rest <= std::string_view(after)) return true;
    uint64_t period = std::stoull(std::string(rest.substr(0, 16)), nullptr, 16);
    if (period < first) return true;
    if (period > last) return false;
    if (out.size() == *limit || examined == 4 * kMaxPage) {
      more = true;
      return false;
    }
    ++examined;
    last_seen = rest;
    std::string_view tail = rest.substr(17);
    std::string c(tail.substr(0, tail.size() - 17));
    if (c != commodity) return true;
    auto v = s.get(trade_prefix(c, period) + std::string(tail.substr(tail.size() - 16)));
    if (!v) return true;
    TradeRecord t = decode_trade(*v);
    by_source[std::string(source_name(static_cast<Source>(t.source)))] += t.qty;
    total += t.qty;
    if (is_renewable(static_cast<Source>(t.source))) renewable += t.qty;
    json tj = trade_json(t);
    tj["period"] = period;
    // The receipts: the bid and offer transactions (GET /v1/tx/<id>) and the block that
    // cleared the trade (its end-of-block receipt holds the market/cleared event).
    tj["receipts"] = {
        {"bid_tx", t.bid.hex()}, {"offer_tx", t.offer.hex()}, {"cleared_height", t.height}};
    out.push_back(tj);
    return true;
  });
  return json{{"account", who},
              {"commodity", commodity},
              {"total_wh", total},
              {"renewable_wh", renewable},
              {"by_source", by_source},
              {"trades", out},
              {"next", more ? json(last_seen) : json(nullptr)}};
}

}  // namespace

void MarketModule::declare_routes() {
  route("/params", "the market's parameters, commodities and fee matrix", {},
        [](const StateReader& s, const QueryArgs&) -> Result<json> {
          if (Status st = has_market(s); !st) return st;
          return params_json(load_params(s));
        });
  route("/orders/{id}", "one order", {{"id", T::kHex32, "order id: its transaction's id"}},
        [](const StateReader& s, const QueryArgs& a) -> Result<json> {
          if (Status st = has_market(s); !st) return st;
          Hash32 id = *a.hex32("id");
          auto o = find_order(s, id);
          if (!o) return error(kOrderNotFound, "no order " + id.hex());
          return order_json(id, *o);
        });
  route("/book", "the orders of one period's book", {kPeriod, kCommodity}, book);
  route("/trades",
        "the trades of one period, and its clearing: a page of at most `limit` trades from "
        "number `from` (next: the from= of the following page, null at the end)",
        {kPeriod,
         kCommodity,
         {"account", T::kText, "only this account's (hex key)", false, 64},
         {"limit", T::kU64, "trades examined (1..1000, default 1000)", false, kMaxPage},
         {"from", T::kU64, "first trade number (the previous answer's next)"}},
        trades);
  route("/price", "one period's clearing: rule, volume, uniform price", {kPeriod, kCommodity},
        price);
  route("/settlement", "one account's settlement statement of one period",
        {kPeriod, kCommodity, {"account", T::kText, "the account (hex key)", true, 64}},
        settlement);
  route("/mix/{account}",
        "the energy mix an account bought, trade by trade with receipts: a page of at most "
        "`limit` trades and their totals (next: the after= of the following page, null at the "
        "end)",
        {{"account", T::kHex32, "the buyer's account"},
         kCommodity,
         {"from_ms", T::kU64, "from this time (ms)"},
         {"to_ms", T::kU64, "to this time (ms)"},
         {"limit", T::kU64, "at most this many trades (1..1000, default 1000)", false, kMaxPage},
         {"after", T::kText, "resume after this entry (the previous answer's next)", false,
          16 + 1 + kMaxCommodity + 1 + 16}},
        mix);
}

}  // namespace gridpact::market
