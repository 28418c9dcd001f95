// The market's parameters (ledger/params.hpp) and its shape fixed at genesis.
#include "modules/market/records.hpp"

namespace gridpact::market {

std::vector<ParamSpec> market_params() {
  return {
      ParamSpec::text("market.rule", "pay-as-clear",
                      {"pay-as-clear", "pay-as-bid", "midpoint", "continuous"},
                      "clearing rule at gate closure, or continuous matching"),
      ParamSpec::u64("market.gate_closure_ms", 0, 0, 86'400'000,
                     "orders for a period close this long before it starts"),
      ParamSpec::u64("market.settlement_deadline_ms", 3'600'000, 0, 30 * 86'400'000ull,
                     "after a period ends, how long settlement waits for readings"),
      ParamSpec::u64("market.max_periods_ahead", 672, 0, 100'000,
                     "how many periods ahead orders are accepted"),
      ParamSpec::u64("market.retail_tariff", 300'000, 0, kMaxPrice,
                     "price of grid energy, micro-units per kWh"),
      ParamSpec::u64("market.feed_in_tariff", 80'000, 0, kMaxPrice,
                     "price the operator pays for spilled energy, micro-units per kWh"),
      ParamSpec::u64("market.tax_ppm", 0, 0, 1'000'000,
                     "tax on sellers' proceeds, parts per million"),
      ParamSpec::u64("market.max_orders_per_book", 10'000, 1, 1'000'000,
                     "open orders one book may hold (each order reloads it in continuous mode)"),
      ParamSpec::u64("market.max_orders_per_account", 100, 1, 1'000'000,
                     "open orders one account may hold in one book"),
      ParamSpec::u64("market.max_books_per_block", 16, 1, 10'000,
                     "books cleared, and periods settled, in one block; the rest wait"),
      ParamSpec::account("market.operator", false,
                         "the grid operator: fees, retail and feed-in counterparty"),
      ParamSpec::account("market.tax_account", true, "the account that collects the tax"),
  };
}

json params_json(const Params& p) {
  json j = {{"rule", p.rule},
            {"gate_closure_ms", p.gate_closure_ms},
            {"settlement_deadline_ms", p.settlement_deadline_ms},
            {"max_periods_ahead", p.max_periods_ahead},
            {"retail_tariff", p.retail_tariff},
            {"feed_in_tariff", p.feed_in_tariff},
            {"tax_ppm", p.tax_ppm},
            {"operator", p.operator_account.hex()},
            {"commodities", p.config.commodities},
            {"fees", p.config.fees}};
  if (p.tax_account) j["tax_account"] = p.tax_account->hex();
  return j;
}

std::optional<uint64_t> as_u64(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0)
    return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}

Result<MarketConfig> config_from(const json& j) {
  MarketConfig c;
  c.commodities = {std::string(kElectricity)};
  auto bad = [](const std::string& m) { return error(Code::kBadGenesis, "market." + m); };
  if (j.contains("commodities")) {
    if (!j["commodities"].is_array() || j["commodities"].empty() ||
        j["commodities"].size() > kMaxCommodities)
      return bad("commodities must be a non-empty array of at most " +
                 std::to_string(kMaxCommodities) + " names");
    c.commodities.clear();
    for (const auto& x : j["commodities"]) {
      if (!x.is_string() || x.get<std::string>().empty() ||
          x.get<std::string>().size() > kMaxCommodity)
        return bad("commodity names are 1..16 bytes");
      c.commodities.push_back(x.get<std::string>());
    }
  }
  if (j.contains("fees")) {
    if (!j["fees"].is_object() || j["fees"].size() > kMaxFeeZones)
      return bad("fees must be a table of at most " + std::to_string(kMaxFeeZones) + " tables");
    for (const auto& [from, row] : j["fees"].items()) {
      if (!row.is_object() || row.size() > kMaxFeeZones)
        return bad("fees." + from + " must be a table of at most " + std::to_string(kMaxFeeZones) +
                   " fees");
      if (from.empty() || from.size() > kMaxMicrogrid)
        return bad("fees: microgrid names are 1..64 bytes");
      for (const auto& [to, fee] : row.items()) {
        auto v = as_u64(fee);
        if (!v || *v > static_cast<uint64_t>(kMaxFee))
          return bad("fees." + from + "." + to + " must be an integer >= 0");
        if (from == to && *v != 0) return bad("fees." + from + "." + to + " must be 0");
        if (to.empty() || to.size() > kMaxMicrogrid)
          return bad("fees: microgrid names are 1..64 bytes");
        c.fees[from][to] = static_cast<int64_t>(*v);
      }
    }
    for (const auto& [a, row] : c.fees)
      for (const auto& [b, row2] : c.fees)
        if (a != b && !row.count(b)) return bad("fees." + a + "." + b + " is missing");
  }
  return c;
}

Params load_params(const StateReader& s) {
  Params p;
  p.rule = read_text_param(s, "market.rule");
  p.gate_closure_ms = read_u64_param(s, "market.gate_closure_ms");
  p.settlement_deadline_ms = read_u64_param(s, "market.settlement_deadline_ms");
  p.max_periods_ahead = read_u64_param(s, "market.max_periods_ahead");
  // Both bounded by kMaxPrice in the parameter table.
  p.retail_tariff = static_cast<int64_t>(read_u64_param(s, "market.retail_tariff"));
  p.feed_in_tariff = static_cast<int64_t>(read_u64_param(s, "market.feed_in_tariff"));
  p.tax_ppm = read_u64_param(s, "market.tax_ppm");
  p.max_orders_per_book = read_u64_param(s, "market.max_orders_per_book");
  p.max_orders_per_account = read_u64_param(s, "market.max_orders_per_account");
  p.max_books_per_block = read_u64_param(s, "market.max_books_per_block");
  p.operator_account = read_account_param(s, "market.operator").value();
  p.tax_account = read_account_param(s, "market.tax_account");
  p.config = kConfig.get(s).value();
  return p;
}

}  // namespace gridpact::market
