#include "modules/market/cli.hpp"

#include "modules/market/market.hpp"

namespace gridpact::market {
namespace {

struct OrderArgs {
  std::string meter;
  std::string commodity{kElectricity};
  std::string order;
  uint64_t period = 0;
  uint64_t qty = 0;
  int64_t price = 0;
  bool renewable_only = false;
  std::vector<std::string> allowed_sources;
  std::vector<std::string> excluded_sellers;
  std::vector<std::string> excluded_microgrids;
  std::vector<std::string> preferred_sellers;
};

Result<Hash32> parse_hash(const std::string& hex, const std::string& what) {
  auto h = Hash32::from_hex(hex);
  if (!h) return error(Code::kInvalidArgument, what + " '" + hex + "' is not 64 hex digits");
  return *h;
}

Result<std::vector<PublicKey>> parse_keys(const std::vector<std::string>& hex) {
  std::vector<PublicKey> out;
  for (const auto& h : hex) {
    auto k = PublicKey::from_hex(h);
    if (!k) return error(Code::kInvalidArgument, "account '" + h + "' is not 64 hex digits");
    out.push_back(*k);
  }
  return out;
}

Result<cli::Payload> order_payload(const OrderArgs& a, uint16_t type) {
  if (type == kCancel || type == kAmend) {
    auto id = parse_hash(a.order, "order");
    if (!id) return id.status();
    if (type == kCancel) return cli::Payload{type, encode(CancelPayload{*id})};
    return cli::Payload{type, encode(AmendPayload{*id, a.qty, a.price})};
  }
  auto meter = parse_hash(a.meter, "meter");
  if (!meter) return meter.status();
  if (type == kOffer)
    return cli::Payload{type, encode(OfferPayload{a.commodity, a.period, a.qty, a.price, *meter})};
  BidPayload b;
  b.commodity = a.commodity;
  b.period = a.period;
  b.qty = a.qty;
  b.price = a.price;
  b.meter = *meter;
  b.renewable_only = a.renewable_only;
  if (!a.allowed_sources.empty()) {
    b.allowed_sources = 0;
    for (const auto& name : a.allowed_sources) {
      if (name == "none") continue;
      auto s = parse_source(name);
      if (!s)
        return error(Code::kInvalidArgument,
                     "unknown source '" + name + "' (pv wind hydro biomass battery grid)");
      b.allowed_sources = static_cast<uint8_t>(b.allowed_sources | (1 << static_cast<int>(*s)));
    }
  }
  auto ex = parse_keys(a.excluded_sellers);
  auto pref = parse_keys(a.preferred_sellers);
  if (!ex) return ex.status();
  if (!pref) return pref.status();
  b.excluded_sellers = *ex;
  b.preferred_sellers = *pref;
  b.excluded_microgrids = a.excluded_microgrids;
  return cli::Payload{type, encode(b)};
}

CLI::App& order_command(cli::CommandHost& host, const std::string& name, const std::string& help,
                        std::shared_ptr<OrderArgs> a, uint16_t type) {
  return host.tx(name, help, [a, type] { return order_payload(*a, type); });
}

void add_order_options(CLI::App& cmd, OrderArgs& a, const std::string& meter_help) {
  cmd.add_option("--meter", a.meter, meter_help)->required();
  cmd.add_option("--period", a.period, "Settlement period index (time_ms / period_ms)")->required();
  cmd.add_option("--qty", a.qty, "Energy in Wh (or the commodity's unit)")->required();
  cmd.add_option("--price", a.price, "Micro-units per kWh")->required();
  cmd.add_option("--commodity", a.commodity, "Commodity (default electricity)");
}

struct QueryArgs {
  uint64_t period = 0;
  std::string commodity{kElectricity};
  std::string account;
  uint64_t from_ms = 0;
  uint64_t to_ms = 0;
};

}  // namespace

void add_commands(cli::CommandHost& host) {
  // gridpact tx offer|bid|cancel|amend
  auto o = std::make_shared<OrderArgs>();
  add_order_options(
      order_command(host, "offer", "Offer energy from a generating meter you own", o, kOffer), *o,
      "Your generating meter (id hex)");
  auto b = std::make_shared<OrderArgs>();
  auto& bid =
      order_command(host, "bid", "Bid for energy; locks the worst-case cost in escrow", b, kBid);
  add_order_options(bid, *b, "Your meter that will import the energy (id hex)");
  bid.add_flag("--renewable-only", b->renewable_only, "Only pv, wind, hydro, biomass");
  bid.add_option("--allowed-sources", b->allowed_sources, "Sources allowed (none: no source)")
      ->delimiter(',');
  bid.add_option("--exclude-seller", b->excluded_sellers, "A seller account never to buy from");
  bid.add_option("--exclude-microgrid", b->excluded_microgrids, "A microgrid never to buy from");
  bid.add_option("--prefer-seller", b->preferred_sellers, "A preferred seller (a tie hint)");
  auto c = std::make_shared<OrderArgs>();
  order_command(host, "cancel", "Cancel an open order before gate closure", c, kCancel)
      .add_option("--order", c->order, "Order id (the order's tx id)")
      ->required();
  auto m = std::make_shared<OrderArgs>();
  auto& amend =
      order_command(host, "amend", "Change an open order's quantity and price", m, kAmend);
  amend.add_option("--order", m->order, "Order id")->required();
  amend.add_option("--qty", m->qty, "New quantity")->required();
  amend.add_option("--price", m->price, "New price")->required();

  // gridpact query book|trades|price|settlement|mix
  for (std::string name : {"book", "trades", "price", "settlement"}) {
    auto qa = std::make_shared<QueryArgs>();
    auto& cmd =
        host.query(name, "Market " + name + " of a period", [qa, name]() -> Result<std::string> {
          std::string path = "/v1/market/" + name + "?period=" + std::to_string(qa->period) +
                             "&commodity=" + qa->commodity;
          if (!qa->account.empty()) path += "&account=" + qa->account;
          return path;
        });
    cmd.add_option("--period", qa->period, "Period index")->required();
    cmd.add_option("--commodity", qa->commodity, "Commodity (default electricity)");
    auto* acc = cmd.add_option("--account", qa->account, "Account (public key hex)");
    if (name == "settlement") acc->required();
  }
  auto mx = std::make_shared<QueryArgs>();
  auto& mix = host.query("mix", "An account's energy mix, each trade with its receipts",
                         [mx]() -> Result<std::string> {
                           std::string path = "/v1/market/mix/" + mx->account +
                                              "?commodity=" + mx->commodity +
                                              "&from_ms=" + std::to_string(mx->from_ms);
                           if (mx->to_ms) path += "&to_ms=" + std::to_string(mx->to_ms);
                           return path;
                         });
  mix.add_option("account", mx->account, "Account (public key hex)")->required();
  mix.add_option("--from-ms", mx->from_ms, "From this time (ms)");
  mix.add_option("--to-ms", mx->to_ms, "Up to this time (ms, exclusive)");
  mix.add_option("--commodity", mx->commodity, "Commodity (default electricity)");
}

}  // namespace gridpact::market
