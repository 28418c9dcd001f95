// gridpact market clear: clears a clearing-book/1 file offline with the engine the ledger
// runs, and prints the trades (docs/clearing-book.md).
#include <fstream>
#include <iostream>
#include <sstream>

#include "app.hpp"
#include "client.hpp"
#include "modules/market/book_json.hpp"
#include "modules/market/market.hpp"

namespace gridpact::cli {
namespace {

struct ClearArgs {
  std::string book;
  std::string rule = "pay-as-clear";
};

int run_clear(const ClearArgs& a) {
  std::stringstream text;
  if (a.book == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(a.book, std::ios::binary);
    if (!in) return fail(error(Code::kInvalidArgument, "cannot read book file '" + a.book + "'"));
    text << in.rdbuf();
  }
  auto book = market::parse_book(text.str());
  if (!book) return fail(book.status());
  market::Clearing c;
  if (a.rule == "continuous") {
    c = market::clear_continuous(*book);
  } else {
    auto rule = market::parse_rule(a.rule);
    if (!rule)
      return fail(error(
          Code::kInvalidArgument,
          "unknown rule '" + a.rule + "' (pay-as-clear, pay-as-bid, midpoint or continuous)"));
    c = market::clear(*book, *rule);
  }
  std::cout << market::trades_json(*book, c).dump(2) << std::endl;
  return 0;
}

struct OrderArgs {
  std::string node = "http://127.0.0.1:8080";
  std::string key;
  std::string meter;
  std::string commodity{market::kElectricity};
  std::string order;
  uint64_t period = 0;
  uint64_t qty = 0;
  int64_t price = 0;
  bool renewable_only = false;
  std::vector<std::string> allowed_sources;
  std::vector<std::string> excluded_sellers;
  std::vector<std::string> excluded_microgrids;
  std::vector<std::string> preferred_sellers;
  bool no_wait = false;
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

int send(const OrderArgs& a, uint16_t type, Bytes payload) {
  return submit_and_print(a.node, a.key, !a.no_wait, type, std::move(payload));
}

int run_order(const OrderArgs& a, uint16_t type) {
  if (type == market::kCancel || type == market::kAmend) {
    auto id = parse_hash(a.order, "order");
    if (!id) return fail(id.status());
    if (type == market::kCancel) return send(a, type, market::encode(market::CancelPayload{*id}));
    return send(a, type, market::encode(market::AmendPayload{*id, a.qty, a.price}));
  }
  auto meter = parse_hash(a.meter, "meter");
  if (!meter) return fail(meter.status());
  if (type == market::kOffer)
    return send(
        a, type,
        market::encode(market::OfferPayload{a.commodity, a.period, a.qty, a.price, *meter}));
  market::BidPayload b;
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
      auto s = market::parse_source(name);
      if (!s)
        return fail(error(Code::kInvalidArgument,
                          "unknown source '" + name + "' (pv wind hydro biomass battery grid)"));
      b.allowed_sources = static_cast<uint8_t>(b.allowed_sources | (1 << static_cast<int>(*s)));
    }
  }
  auto ex = parse_keys(a.excluded_sellers);
  auto pref = parse_keys(a.preferred_sellers);
  if (!ex) return fail(ex.status());
  if (!pref) return fail(pref.status());
  b.excluded_sellers = *ex;
  b.preferred_sellers = *pref;
  b.excluded_microgrids = a.excluded_microgrids;
  return send(a, type, market::encode(b));
}

CLI::App* order_command(CLI::App& tx, const std::string& name, const std::string& help,
                        std::shared_ptr<OrderArgs> a, uint16_t type) {
  auto* cmd = tx.add_subcommand(name, help);
  cmd->add_option("--node", a->node, "Node API URL");
  cmd->add_option("--key", a->key, "Key file of the signer")->required();
  cmd->add_flag("--no-wait", a->no_wait, "Return once accepted, without waiting for the commit");
  cmd->callback([a, type] { finish(run_order(*a, type)); });
  return cmd;
}

void add_order_options(CLI::App* cmd, std::shared_ptr<OrderArgs> a, const std::string& meter_help) {
  cmd->add_option("--meter", a->meter, meter_help)->required();
  cmd->add_option("--period", a->period, "Settlement period index (time_ms / period_ms)")
      ->required();
  cmd->add_option("--qty", a->qty, "Energy in Wh (or the commodity's unit)")->required();
  cmd->add_option("--price", a->price, "Micro-units per kWh")->required();
  cmd->add_option("--commodity", a->commodity, "Commodity (default electricity)");
}

}  // namespace

void add_market_commands(CLI::App& app) {
  market::register_market_codes();  // names of codes in the node's answers
  auto* market = app.add_subcommand("market", "Market tools that need no node");
  market->require_subcommand(1);
  auto a = std::make_shared<ClearArgs>();
  auto* clear = market->add_subcommand(
      "clear", "Clear a book file (clearing-book/1 JSON) and print the trades as JSON");
  clear->add_option("--book", a->book, "Book file, or - for standard input")->required();
  clear->add_option("--rule", a->rule,
                    "pay-as-clear (default), pay-as-bid, midpoint, or continuous (price-time "
                    "priority in book order)");
  clear->callback([a] { finish(run_clear(*a)); });

  // gridpact tx offer|bid|cancel|amend
  auto* tx = app.get_subcommand("tx");
  auto o = std::make_shared<OrderArgs>();
  add_order_options(order_command(*tx, "offer", "Offer energy from a generating meter you own", o,
                                  market::kOffer),
                    o, "Your generating meter (id hex)");
  auto b = std::make_shared<OrderArgs>();
  auto* bid = order_command(*tx, "bid", "Bid for energy; locks the worst-case cost in escrow", b,
                            market::kBid);
  add_order_options(bid, b, "Your meter that will import the energy (id hex)");
  bid->add_flag("--renewable-only", b->renewable_only, "Only pv, wind, hydro, biomass");
  bid->add_option("--allowed-sources", b->allowed_sources, "Sources allowed (none: no source)")
      ->delimiter(',');
  bid->add_option("--exclude-seller", b->excluded_sellers, "A seller account never to buy from");
  bid->add_option("--exclude-microgrid", b->excluded_microgrids, "A microgrid never to buy from");
  bid->add_option("--prefer-seller", b->preferred_sellers, "A preferred seller (a tie hint)");
  auto c = std::make_shared<OrderArgs>();
  order_command(*tx, "cancel", "Cancel an open order before gate closure", c, market::kCancel)
      ->add_option("--order", c->order, "Order id (the order's tx id)")
      ->required();
  auto m = std::make_shared<OrderArgs>();
  auto* amend =
      order_command(*tx, "amend", "Change an open order's quantity and price", m, market::kAmend);
  amend->add_option("--order", m->order, "Order id")->required();
  amend->add_option("--qty", m->qty, "New quantity")->required();
  amend->add_option("--price", m->price, "New price")->required();

  // gridpact query book|trades|price|settlement|mix
  auto* q = app.get_subcommand("query");
  struct QueryArgs {
    uint64_t period = 0;
    std::string commodity{market::kElectricity};
    std::string account;
    uint64_t from_ms = 0;
    uint64_t to_ms = 0;
  };
  auto run = [q](const std::string& path) {
    ApiClient client(q->get_option("--node")->as<std::string>());
    auto r = client.get(path);
    if (!r) finish(fail(r.status()));
    print_json(*r);
  };
  for (std::string name : {"book", "trades", "price", "settlement"}) {
    auto qa = std::make_shared<QueryArgs>();
    auto* cmd = q->add_subcommand(name, "Market " + name + " of a period");
    cmd->add_option("--period", qa->period, "Period index")->required();
    cmd->add_option("--commodity", qa->commodity, "Commodity (default electricity)");
    auto* acc = cmd->add_option("--account", qa->account, "Account (public key hex)");
    if (name == "settlement") acc->required();
    cmd->callback([run, qa, name] {
      std::string path = "/v1/market/" + name + "?period=" + std::to_string(qa->period) +
                         "&commodity=" + qa->commodity;
      if (!qa->account.empty()) path += "&account=" + qa->account;
      run(path);
    });
  }
  auto mx = std::make_shared<QueryArgs>();
  auto* mix = q->add_subcommand("mix", "An account's energy mix, each trade with its receipts");
  mix->add_option("account", mx->account, "Account (public key hex)")->required();
  mix->add_option("--from-ms", mx->from_ms, "From this time (ms)");
  mix->add_option("--to-ms", mx->to_ms, "Up to this time (ms, exclusive)");
  mix->add_option("--commodity", mx->commodity, "Commodity (default electricity)");
  mix->callback([run, mx] {
    std::string path = "/v1/market/mix/" + mx->account + "?commodity=" + mx->commodity +
                       "&from_ms=" + std::to_string(mx->from_ms);
    if (mx->to_ms) path += "&to_ms=" + std::to_string(mx->to_ms);
    run(path);
  });
}

}  // namespace gridpact::cli
