#include "modules/market/market.hpp"

#include <set>

#include "modules/market/records.hpp"

namespace gridpact::market {

void register_market_codes() {
  register_codes(kMarketCodes);
}

namespace {

Status check_offer(const Transaction&, const OfferPayload& p) {
  return check_common(p.commodity, p.qty, p.price);
}
Status check_bid(const Transaction&, const BidPayload& p) {
  if (p.allowed_sources & ~kAnySource)
    return error(kUnknownSource, "allowed_sources names an unknown source");
  return check_common(p.commodity, p.qty, p.price);
}
Status check_amend(const Transaction&, const AmendPayload& p) {
  return check_common(std::string(kElectricity), p.qty, p.price);
}

// A bid's view: the order it would open, without what only the chain decides.
json bid_json(const BidPayload& p) {
  OrderRecord o;
  o.side = Side::kBid;
  o.commodity = p.commodity;
  o.period = p.period;
  o.qty = p.qty;
  o.price = p.price;
  o.meter = p.meter;
  o.renewable_only = p.renewable_only;
  o.allowed_sources = p.allowed_sources;
  o.excluded_sellers = p.excluded_sellers;
  o.excluded_microgrids = p.excluded_microgrids;
  o.preferred_sellers = p.preferred_sellers;
  json j = order_json(Hash32{}, o);
  for (const char* k : {"id", "owner", "status", "filled", "escrow", "microgrid"}) j.erase(k);
  return j;
}

}  // namespace

MarketModule::MarketModule() {
  register_market_codes();
  message(kOffer, "market/offer", &MarketModule::on_offer, {.check = check_offer});
  message(kBid, "market/bid", &MarketModule::on_bid, {.check = check_bid, .view = bid_json});
  message(kCancel, "market/cancel", &MarketModule::on_cancel);
  message(kAmend, "market/amend", &MarketModule::on_amend, {.check = check_amend});
  event<OfferEvent>();
  event<BidEvent>();
  event<CancelEvent>();
  event<AmendEvent>();
  event<MatchedEvent>();
  event<ClearedEvent>();
  event<SettledEvent>();
  declare_routes();
  declare_governed_actions();
}

// The grid operator (fees, retail and feed-in counterparty) of a development chain is its
// issuer; every other parameter keeps its default.
std::string MarketModule::default_genesis(const DevelopmentAccounts& accounts) const {
  return "[market]\noperator = \"" + accounts.issuer.hex() + "\"\n";
}

Status MarketModule::init_genesis(StateOverlay& s, const json& section) {
  if (section.is_object() && section.empty()) return ok();  // no market on this chain
  if (!section.is_object()) return error(Code::kBadGenesis, "market section must be a table");
  std::set<std::string> known = {"commodities", "fees"};
  for (const ParamSpec& spec : market_params()) known.insert(std::string(spec.short_name()));
  for (const auto& [k, v] : section.items())
    if (!known.count(k))
      return error(Code::kBadGenesis, "market." + k + " is not a market parameter");
  if (Status st = init_params(s, market_params(), section); !st) return st;
  auto config = config_from(section);
  if (!config) return config.status();
  kConfig.put(s, *config);
  if (Status st = check_params(s); !st) return error(Code::kBadGenesis, st.message);
  return ok();
}

std::vector<ParamSpec> MarketModule::param_table() const {
  return market_params();
}

Status MarketModule::check_params(const StateReader& s) const {
  if (read_u64_param(s, "market.tax_ppm") > 0 && !read_account_param(s, "market.tax_account"))
    return error(Code::kInvalidArgument, "market.tax_ppm needs a market.tax_account");
  return ok();
}

std::vector<state::SchemaEntry> MarketModule::schema() const {
  return {
      {"market/seq", "", "u64"},
      {"market/order/", "<id hex>", "OrderRecord"},
      {"market/book/", "<c>/<period>/<seq>", "id (32 bytes)"},
      {"market/due/", "<period>/<c>", "\"\""},
      {"market/openn/", "<c>/<period>[/<pk hex>]", "u64 open orders"},
      {"market/trade/", "<c>/<period>/<n>", "TradeRecord"},
      {"market/tcount/", "<c>/<period>", "u64"},
      {"market/buyer/", "<pk hex>/<period>/<c>/<n>", "\"\""},
      {kConfig.key(), "", "MarketConfig"},
      {kCleared.prefix(), "[commodity:str][period:u64]", "ClearedSummary"},
      {"market/unsettled/", "<period>/<c>", "\"\""},
      {kStatements.prefix(), "[commodity:str][period:u64][account:32]", "Statement"},
      {"market/tsettled/", "<c>/<period>/<n>", "u64"},
  };
}

void MarketModule::end_block(BlockContext& ctx) {
  StateOverlay& s = ctx.state;
  if (!kConfig.has(s)) return;
  const Params p = load_params(s);
  const meters::PeriodSchedule schedule(s);
  // Books whose gate has closed, in (period, commodity) order.
  std::vector<std::pair<uint64_t, std::string>> due, unsettled;
  s.scan("market/due/", [&](std::string_view k, std::string_view) {
    uint64_t period = std::stoull(std::string(k.substr(11, 16)), nullptr, 16);
    uint64_t start = schedule.start_ms(period);
    uint64_t gate = start > p.gate_closure_ms ? start - p.gate_closure_ms : 0;
    if (ctx.block.time_ms < gate) return false;  // later periods are not due either
    due.emplace_back(period, std::string(k.substr(28)));
    return due.size() < p.max_books_per_block;
  });
  // At most max_books_per_block books each (oldest first): after downtime the backlog
  // clears over the next blocks (a book's gate is closed: nothing joins it meanwhile).
  for (const auto& [period, commodity] : due) {
    clear_period(ctx, p, commodity, period);
    s.erase(due_key(period, commodity));
  }
  s.scan("market/unsettled/", [&](std::string_view k, std::string_view) {
    uint64_t period = std::stoull(std::string(k.substr(17, 16)), nullptr, 16);
    if (ctx.block.time_ms < schedule.end_ms(period)) return false;
    unsettled.emplace_back(period, std::string(k.substr(34)));
    return unsettled.size() < p.max_books_per_block;
  });
  for (const auto& [period, commodity] : unsettled)
    if (settle_period(ctx, p, schedule, commodity, period, reading_hints_))
      s.erase("market/unsettled/" + hex16(period) + "/" + commodity);
}

}  // namespace gridpact::market
