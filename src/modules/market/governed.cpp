// The market's governed actions: its shape (the zone fee matrix, the commodities) changed
// by a governance proposal (src/modules/governance) instead of a new genesis.
#include "modules/market/market.hpp"
#include "modules/market/records.hpp"

namespace gridpact::market {
namespace {

// The shape as genesis would give it, so that a change passes exactly the checks a genesis
// section does (config_from: bounds, a complete matrix, 0 within a microgrid).
json shape_json(const MarketConfig& c) {
  json fees = json::object();
  for (const auto& [from, row] : c.fees)
    for (const auto& [to, fee] : row) fees[from][to] = fee;
  return {{"commodities", c.commodities}, {"fees", fees}};
}

Result<MarketConfig> with_fees(const StateReader& s, const FeesAction& a) {
  if (a.fees.empty()) return error(kBadMarketShape, "set_fees names no fee");
  auto c = kConfig.get(s);
  if (!c) return error(kBadMarketShape, "the market is not set up on this chain");
  for (const auto& f : a.fees) {
    if (f.fee > static_cast<uint64_t>(INT64_MAX))
      return error(kBadMarketShape, "fee " + f.from + " -> " + f.to + " is out of range");
    c->fees[f.from][f.to] = static_cast<int64_t>(f.fee);
  }
  auto checked = config_from(shape_json(*c));
  if (!checked) return error(kBadMarketShape, checked.status().message);
  return checked;
}

Result<MarketConfig> with_commodity(const StateReader& s, const CommodityAction& a) {
  auto c = kConfig.get(s);
  if (!c) return error(kBadMarketShape, "the market is not set up on this chain");
  for (const auto& name : c->commodities)
    if (name == a.name) return error(kBadMarketShape, a.name + " is already traded");
  c->commodities.push_back(a.name);
  auto checked = config_from(shape_json(*c));
  if (!checked) return error(kBadMarketShape, checked.status().message);
  return checked;
}

Status check_set_fees(const StateReader& s, const FeesAction& a) {
  auto c = with_fees(s, a);
  return c ? ok() : c.status();
}
Status check_add_commodity(const StateReader& s, const CommodityAction& a) {
  auto c = with_commodity(s, a);
  return c ? ok() : c.status();
}

}  // namespace

void MarketModule::declare_governed_actions() {
  governed("market/set_fees", &MarketModule::apply_set_fees, {.check = check_set_fees});
  governed("market/add_commodity", &MarketModule::apply_add_commodity,
           {.check = check_add_commodity});
}

Status MarketModule::apply_set_fees(GovernedContext& ctx, const FeesAction& a) {
  auto c = with_fees(ctx.state, a);
  if (!c) return c.status();
  kConfig.put(ctx.state, *c);
  return ok();
}

Status MarketModule::apply_add_commodity(GovernedContext& ctx, const CommodityAction& a) {
  auto c = with_commodity(ctx.state, a);
  if (!c) return c.status();
  kConfig.put(ctx.state, *c);
  return ok();
}

}  // namespace gridpact::market
