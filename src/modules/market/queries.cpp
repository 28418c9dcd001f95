// The market module's read-only queries (GET /v1/market/...).
#include "modules/market/records.hpp"

namespace gridpact::market {

Result<json> MarketModule::query(const StateReader& s, std::string_view path,
                                 const json& params) const {
  auto param = [&](const char* k) -> std::optional<std::string> {
    if (!params.is_object() || !params.contains(k)) return std::nullopt;
    const auto& v = params[k];
    if (v.is_string()) return v.get<std::string>();
    if (auto n = as_u64(v)) return std::to_string(*n);
    return std::nullopt;
  };
  auto number = [&](const char* k) -> Result<std::optional<uint64_t>> {
    auto v = param(k);
    if (!v) return std::optional<uint64_t>();
    try {
      size_t used = 0;
      uint64_t n = std::stoull(*v, &used);
      if (used != v->size()) throw std::invalid_argument(k);
      return std::optional<uint64_t>(n);
    } catch (const std::exception&) {
      return error(Code::kInvalidArgument, std::string(k) + " must be a non-negative integer");
    }
  };
  std::string commodity = param("commodity").value_or(std::string(kElectricity));
  if (!kConfig.has(s)) return error(Code::kNotFound, "no market in this chain");
  if (path == "params") return params_json(load_params(s));
  if (path.starts_with("orders/")) {
    auto id = Hash32::from_hex(path.substr(7));
    if (!id) return error(Code::kInvalidArgument, "order id must be 64 hex digits");
    auto o = find_order(s, *id);
    if (!o) return error(kOrderNotFound, "no order " + std::string(path.substr(7)));
    return order_json(*id, *o);
  }
  auto period_r = number("period");
  if (!period_r) return period_r.status();
  if (path == "book") {
    if (!*period_r) return error(Code::kInvalidArgument, "book needs ?period=");
    json orders = json::array();
    s.scan(book_prefix(commodity, **period_r), [&](std::string_view, std::string_view v) {
      Hash32 id = Hash32::from_span(reinterpret_cast<const uint8_t*>(v.data()));
      if (auto o = find_order(s, id)) orders.push_back(order_json(id, *o));
      return orders.size() < 10'000;
    });
    return json{{"commodity", commodity}, {"period", **period_r}, {"orders", orders}};
  }
  if (path == "trades" || path == "price" || path == "settlement") {
    if (!*period_r) return error(Code::kInvalidArgument, std::string(path) + " needs ?period=");
    uint64_t period = **period_r;
    bool named = !commodity.empty() && commodity.size() <= kMaxCommodity;
    auto cleared = named ? kCleared.get(s, {commodity, period}) : std::nullopt;
    if (path == "price") {
      if (!cleared) return error(Code::kNotFound, "period not cleared");
      return cleared->to_json();
    }
    if (path == "trades") {
      auto who = param("account");
      json trades = json::array();
      for (const auto& t : load_trades(s, commodity, period))
        if (!who || t.buyer.hex() == *who || t.seller.hex() == *who)
          trades.push_back(trade_json(t));
      return json{{"commodity", commodity},
                  {"period", period},
                  {"cleared", cleared ? cleared->to_json() : json(nullptr)},
                  {"trades", trades}};
    }
    auto who = param("account");
    if (!who) return error(Code::kInvalidArgument, "settlement needs ?account=");
    auto account = PublicKey::from_hex(*who);
    auto v = account && named ? kStatements.get(s, {commodity, period, *account}) : std::nullopt;
    if (!v) {
      bool pending = s.get("market/unsettled/" + hex16(period) + "/" + commodity).has_value();
      return json{{"account", *who}, {"period", period}, {"settled", false}, {"pending", pending}};
    }
    json j = v->to_json();
    j["account"] = account->hex();
    j["period"] = period;
    j["commodity"] = commodity;
    j["settled"] = true;
    return j;
  }
  if (path.starts_with("mix/")) {
    std::string who(path.substr(4));
    if (!PublicKey::from_hex(who))
      return error(Code::kInvalidArgument, "account must be 64 hex digits");
    auto from = number("from_ms"), to = number("to_ms");
    if (!from) return from.status();
    if (!to) return to.status();
    uint64_t len = period_ms(s);
    uint64_t first = from->value_or(0) / len;
    uint64_t last = to->value_or(std::numeric_limits<uint64_t>::max());
    last = last == 0 ? 0 : (last - 1) / len;
    std::map<std::string, uint64_t> by_source;
    uint64_t total = 0, renewable = 0;
    json trades = json::array();
    s.scan("market/buyer/" + who + "/", [&](std::string_view k, std::string_view) {
      // market/buyer/<64>/<period 16>/<commodity>/<n 16>
      std::string_view rest = k.substr(13 + 64 + 1);
      uint64_t period = std::stoull(std::string(rest.substr(0, 16)), nullptr, 16);
      if (period < first) return true;
      if (period > last) return false;
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
      trades.push_back(tj);
      return trades.size() < 10'000;
    });
    return json{{"account", who},         {"commodity", commodity},
                {"total_wh", total},      {"renewable_wh", renewable},
                {"by_source", by_source}, {"trades", trades}};
  }
  return error(Code::kNotFound, "no market query " + std::string(path));
}

}  // namespace gridpact::market
