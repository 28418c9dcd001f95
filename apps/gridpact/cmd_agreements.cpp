// Assets, premises, agreements and ratings on the command line:
//   gridpact tx asset-register|asset-transfer|premises-register|agreement-propose|
//               agreement-sign|agreement-amend|agreement-sign-amendment|
//               agreement-terminate|agreement-pay|agreement-execute|rate (an agreement
//               period, or a market trade with --trade)
//   gridpact query match|assets|asset|premises|agreement|payments|rating
#include <fstream>

#include "app.hpp"
#include "client.hpp"
#include "db/read_model.hpp"

namespace gridpact::cli {
namespace {

using namespace agreements;

struct Common {
  std::string node = "http://127.0.0.1:8080";
  std::string key;
  bool no_wait = false;
};

int send(const Common& c, uint16_t type, Bytes payload) {
  return submit_and_print(c.node, c.key, !c.no_wait, type, std::move(payload));
}

CLI::App* tx_cmd(CLI::App& tx, const std::string& name, const std::string& help, Common& c) {
  auto* cmd = tx.add_subcommand(name, help);
  cmd->add_option("--node", c.node, "Node API URL");
  cmd->add_option("--key", c.key, "Key file of the signer")->required();
  cmd->add_flag("--no-wait", c.no_wait, "Return once accepted, without waiting for the commit");
  return cmd;
}

PublicKey account(const std::string& hex, const char* what) {
  auto k = PublicKey::from_hex(hex);
  if (!k) finish(fail(error(Code::kInvalidArgument, std::string(what) + " must be 64 hex digits")));
  return *k;
}
Hash32 hash32(const std::string& hex, const char* what) {
  if (hex.empty()) return {};
  auto h = Hash32::from_hex(hex);
  if (!h) finish(fail(error(Code::kInvalidArgument, std::string(what) + " must be 64 hex digits")));
  return *h;
}
uint8_t type_mask(const std::string& list) {
  uint8_t mask = 0;
  size_t pos = 0;
  while (!list.empty() && pos <= list.size()) {
    size_t comma = std::min(list.find(',', pos), list.size());
    auto t = parse_type(std::string_view(list).substr(pos, comma - pos));
    if (!t)
      finish(fail(error(Code::kInvalidArgument,
                        "unknown type in '" + list + "' (pv,wind,hydro,biomass,battery)")));
    mask |= type_bit(*t);
    pos = comma + 1;
  }
  return mask;
}
json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) finish(fail(error(Code::kInvalidArgument, "cannot read " + path)));
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) finish(fail(error(Code::kMalformedJson, path + " is not JSON")));
  return j;
}

struct ProposeArgs {
  std::string template_name, terms_file, owner, host, dso;
  TemplateArgs t;
  uint16_t dso_bps = 0;
  uint64_t fee = 0;
  std::optional<uint16_t> host_token_share_bps;
  bool print_only = false;
};

Terms build_terms(const ProposeArgs& a) {
  if (!a.terms_file.empty()) {
    auto t = terms_from_json(read_json_file(a.terms_file));
    if (!t) finish(fail(t.status()));
    return *t;
  }
  std::string name = a.template_name;
  std::replace(name.begin(), name.end(), '-', '_');
  auto kind = parse_kind(name);
  if (!kind || *kind == Kind::kCustom)
    finish(
        fail(error(Code::kInvalidArgument,
                   "--template is lease, lease-to-own, ppa or surplus-share (or give --terms)")));
  TemplateArgs t = a.t;
  t.owner = account(a.owner, "--owner");
  t.host = account(a.host, "--host");
  auto made = make_template(*kind, t);
  if (!made) finish(fail(made.status()));
  Terms* terms = &made.value();
  if (!a.dso.empty()) {  // a DSO share of the energy payment, taken from the owner's
    terms->parties.push_back({account(a.dso, "--dso"), Role::kDso});
    if (!terms->energy_shares.empty() && a.dso_bps > 0 && a.dso_bps < kBps) {
      terms->energy_shares[0].bps = static_cast<uint16_t>(terms->energy_shares[0].bps - a.dso_bps);
      terms->energy_shares.push_back({static_cast<uint8_t>(terms->parties.size() - 1), a.dso_bps});
    }
  }
  terms->termination_fee_micro = a.fee;
  terms->host_token_share_bps = a.host_token_share_bps;
  return *terms;
}

void add_tx(CLI::App& app) {
  auto* tx = app.get_subcommand("tx");

  {
    auto c = std::make_shared<Common>();
    auto a = std::make_shared<Asset>();
    auto type = std::make_shared<std::string>("pv");
    auto meter = std::make_shared<std::string>();
    auto* cmd = tx_cmd(*tx, "asset-register", "List a generation system you own", *c);
    cmd->add_option("--type", *type, "pv, wind, hydro, biomass or battery");
    cmd->add_option("--capacity-w", a->capacity_w, "Capacity in W")->required();
    cmd->add_option("--meter", *meter, "Id (hex) of the meter that measures it")->required();
    cmd->add_option("--microgrid", a->microgrid, "Microgrid name");
    cmd->add_option("--lat-e6", a->lat_e6, "Latitude in micro-degrees");
    cmd->add_option("--lon-e6", a->lon_e6, "Longitude in micro-degrees");
    cmd->add_option("--price", a->price_micro_per_kwh, "Offered price, micro-units per kWh");
    cmd->add_option("--name", a->name, "A name");
    cmd->callback([c, a, type, meter] {
      auto t = parse_type(*type);
      if (!t) finish(fail(error(Code::kInvalidArgument, "unknown --type " + *type)));
      a->type = *t;
      a->meter = hash32(*meter, "--meter");
      finish(send(*c, kRegisterAsset, encode(*a)));
    });
  }
  {
    auto c = std::make_shared<Common>();
    auto id = std::make_shared<uint64_t>(0);
    auto to = std::make_shared<std::string>();
    auto* cmd = tx_cmd(*tx, "asset-transfer",
                       "Transfer an asset you own (not while it serves an agreement)", *c);
    cmd->add_option("--asset", *id, "Asset id")->required();
    cmd->add_option("--to", *to, "New owner (public key hex)")->required();
    cmd->callback([c, id, to] {
      finish(send(*c, kTransferAsset, encode(TransferAssetPayload{*id, account(*to, "--to")})));
    });
  }
  {
    auto c = std::make_shared<Common>();
    auto p = std::make_shared<Premises>();
    auto prefer = std::make_shared<std::string>();
    auto meter = std::make_shared<std::string>();
    auto* cmd = tx_cmd(*tx, "premises-register", "List premises that can host a system", *c);
    cmd->add_option("--area-m2", p->area_m2, "Usable area in m2")->required();
    cmd->add_option("--lat-e6", p->lat_e6, "Latitude in micro-degrees");
    cmd->add_option("--lon-e6", p->lon_e6, "Longitude in micro-degrees");
    cmd->add_option("--microgrid", p->microgrid, "Microgrid name");
    cmd->add_option("--prefer", *prefer, "Preferred types, e.g. pv,battery (default any)");
    cmd->add_option("--consumption-wh", p->expected_consumption_wh,
                    "Expected consumption per year, Wh");
    cmd->add_option("--meter", *meter, "Connection meter id (hex); its export is the surplus");
    cmd->add_option("--name", p->name, "A name");
    cmd->callback([c, p, prefer, meter] {
      p->preferred_types = type_mask(*prefer);
      p->meter = hash32(*meter, "--meter");
      finish(send(*c, kRegisterPremises, encode(*p)));
    });
  }
  {
    auto c = std::make_shared<Common>();
    auto a = std::make_shared<ProposeArgs>();
    auto* cmd = tx_cmd(*tx, "agreement-propose",
                       "Propose an agreement from a template or a terms file", *c);
    cmd->add_option("--template", a->template_name, "lease, lease-to-own, ppa or surplus-share");
    cmd->add_option("--terms", a->terms_file,
                    "Terms as JSON (the format of `query agreement`'s terms)");
    cmd->add_option("--asset", a->t.asset, "Asset id");
    cmd->add_option("--premises", a->t.premises, "Premises id (0: none, PPA only)");
    cmd->add_option("--owner", a->owner, "Owner account");
    cmd->add_option("--host", a->host, "Host (buyer) account");
    cmd->add_option("--start-ms", a->t.start_ms, "Start of the term (block time, ms)");
    cmd->add_option("--period-ms", a->t.period_ms, "Billing period, ms");
    cmd->add_option("--periods", a->t.periods, "Term length in billing periods");
    cmd->add_option("--price", a->t.price_micro_per_kwh,
                    "Tariff / PPA price / surplus price, micro-units per kWh");
    cmd->add_option("--rebate-bps", a->t.rebate_bps,
                    "Lease: rent rebate; surplus-share: the owner's share");
    cmd->add_option("--instalment", a->t.instalment_micro,
                    "Lease-to-own: instalment per period, micro-units");
    cmd->add_option("--volume-wh", a->t.volume_wh, "PPA: contracted volume per period, Wh");
    cmd->add_option("--dso", a->dso, "Add a DSO party");
    cmd->add_option("--dso-bps", a->dso_bps, "The DSO's share of the energy payment, bps");
    cmd->add_option("--termination-fee", a->fee, "Early termination fee, micro-units");
    cmd->add_option("--host-token-share-bps", a->host_token_share_bps,
                    "The host's share of the asset's green tokens, bps (default: as the energy "
                    "revenue)");
    cmd->add_flag("--print", a->print_only, "Print the terms, their hash and text; submit nothing");
    cmd->callback([c, a] {
      Terms t = build_terms(*a);
      if (a->print_only) {
        Hash32 h = terms_hash(t);
        print_json({{"terms", terms_json(t)},
                    {"terms_hash", h.hex()},
                    {"valid", validate_terms(t).to_string()},
                    {"text", render_terms(t, h)}});
        return;
      }
      finish(send(*c, kPropose, encode_terms(t)));
    });
  }
  for (auto [name, type, help] :
       {std::tuple{"agreement-sign", kSign, "Sign an agreement's terms (by their hash)"},
        std::tuple{"agreement-sign-amendment", kSignAmendment,
                   "Sign a pending amendment (by its terms hash)"}}) {
    auto c = std::make_shared<Common>();
    auto p = std::make_shared<SignPayload>();
    auto hash = std::make_shared<std::string>();
    auto* cmd = tx_cmd(*tx, name, help, *c);
    cmd->add_option("--agreement", p->agreement, "Agreement id")->required();
    cmd->add_option("--terms-hash", *hash, "SHA-256 of the terms you agree to (query agreement ID)")
        ->required();
    uint16_t ty = type;
    cmd->callback([c, p, hash, ty] {
      p->terms_hash = hash32(*hash, "--terms-hash");
      finish(send(*c, ty, encode(*p)));
    });
  }
  {
    auto c = std::make_shared<Common>();
    auto id = std::make_shared<uint64_t>(0);
    auto file = std::make_shared<std::string>();
    auto* cmd = tx_cmd(*tx, "agreement-amend", "Propose new terms for an active agreement", *c);
    cmd->add_option("--agreement", *id, "Agreement id")->required();
    cmd->add_option("--terms", *file, "New terms (JSON)")->required();
    cmd->callback([c, id, file] {
      auto t = terms_from_json(read_json_file(*file));
      if (!t) finish(fail(t.status()));
      finish(send(*c, kAmend, encode(AmendPayload{*id, *t})));
    });
  }
  for (auto [name, type, help] :
       {std::tuple{"agreement-terminate", kTerminate,
                   "Withdraw a proposal, or end an agreement early (pays the fee)"},
        std::tuple{"agreement-pay", kPay, "Pay an agreement's arrears (host)"},
        std::tuple{"agreement-execute", kExecute,
                   "Bill the periods that have ended now (any party)"}}) {
    auto c = std::make_shared<Common>();
    auto id = std::make_shared<uint64_t>(0);
    auto* cmd = tx_cmd(*tx, name, help, *c);
    cmd->add_option("--agreement", *id, "Agreement id")->required();
    uint16_t ty = type;
    cmd->callback([c, id, ty] { finish(send(*c, ty, encode(IdPayload{*id}))); });
  }
  {
    auto c = std::make_shared<Common>();
    auto p = std::make_shared<RatePayload>();
    auto trade = std::make_shared<std::string>();
    auto* cmd = tx_cmd(*tx, "rate",
                       "Rate the other party of a settled agreement period or market trade "
                       "(1-5, once)",
                       *c);
    auto* agreement = cmd->add_option("--agreement", p->agreement, "Agreement id");
    auto* period = cmd->add_option("--period", p->period, "Settled period of the agreement");
    auto* by_trade = cmd->add_option("--trade", *trade,
                                     "Settled market trade COMMODITY/PERIOD/INDEX "
                                     "(e.g. electricity/1996/0)");
    agreement->needs(period);
    period->needs(agreement);
    by_trade->excludes(agreement)->excludes(period);
    cmd->add_option("--score", p->score, "1 to 5")->required();
    cmd->callback([c, p, trade] {
      if (trade->empty()) {
        if (p->agreement == 0) {
          finish(fail(
              error(Code::kInvalidArgument, "rate needs --agreement and --period, or --trade")));
          return;
        }
        finish(send(*c, kRate, encode(*p)));
        return;
      }
      auto ref = TradeRef::parse(*trade);
      if (!ref) {
        finish(fail(error(Code::kInvalidArgument, "--trade is COMMODITY/PERIOD/INDEX")));
        return;
      }
      finish(send(*c, kRateTrade, encode(RateTradePayload{*ref, p->score})));
    });
  }
}

struct FilterArgs {
  std::string type;
  std::optional<uint64_t> min_w, max_w, radius_km, min_rating, limit;
  json params() const {
    json p = json::object();
    if (!type.empty()) p["type"] = type;
    if (min_w) p["min_w"] = std::to_string(*min_w);
    if (max_w) p["max_w"] = std::to_string(*max_w);
    if (radius_km) p["radius_km"] = std::to_string(*radius_km);
    if (min_rating) p["min_rating"] = std::to_string(*min_rating);
    if (limit) p["limit"] = std::to_string(*limit);
    return p;
  }
};
void add_filter(CLI::App* cmd, FilterArgs& f) {
  cmd->add_option("--type", f.type, "Types, e.g. pv,wind");
  cmd->add_option("--min-w", f.min_w, "Minimum capacity, W");
  cmd->add_option("--max-w", f.max_w, "Maximum capacity, W");
  cmd->add_option("--radius-km", f.radius_km, "Search radius, km (default 50)");
  cmd->add_option("--min-rating", f.min_rating,
                  "Minimum rating of both parties, thousandths (e.g. 3500)");
  cmd->add_option("--limit", f.limit, "At most this many results (default 20)");
}
std::string query_string(const json& params) {
  std::string q;
  for (const auto& [k, v] : params.items())
    q += (q.empty() ? "?" : "&") + k + "=" + v.get<std::string>();
  return q;
}
std::unique_ptr<db::ReadModel> open_db(const std::string& url) {
  auto m = db::ReadModel::open(url);
  if (!m) finish(fail(m.status()));
  return std::move(m.value());
}

void add_queries(CLI::App& app) {
  auto* q = app.get_subcommand("query");
  auto get = [](CLI::App* cmd, const std::string& path) {
    auto* opt = cmd->get_parent()->get_option("--node");
    ApiClient client(opt->count() ? opt->as<std::string>() : std::string("http://127.0.0.1:8080"));
    auto r = client.get("/v1/agreements/" + path);
    if (!r) finish(fail(r.status()));
    print_json(*r);
  };
  {
    auto f = std::make_shared<FilterArgs>();
    auto premises = std::make_shared<uint64_t>(0);
    auto url = std::make_shared<std::string>();
    auto* cmd = q->add_subcommand(
        "match", "Listed systems ranked for premises (type, capacity, distance, ratings)");
    cmd->add_option("--premises", *premises, "Premises id")->required();
    cmd->add_option(
        "--db", *url,
        "Query the SQL read model (sqlite:PATH or postgresql://...) instead of the node");
    add_filter(cmd, *f);
    cmd->callback([cmd, get, f, premises, url] {
      json params = f->params();
      if (url->empty()) {
        params["premises"] = std::to_string(*premises);
        return get(cmd, "match" + query_string(params));
      }
      agreements::MatchFilter filter;
      if (auto r = filter.parse(params); !r) finish(fail(r.status()));
      auto r = open_db(*url)->match(*premises, filter);
      if (!r) finish(fail(r.status()));
      print_json(*r);
    });
  }
  {
    auto f = std::make_shared<FilterArgs>();
    auto url = std::make_shared<std::string>();
    auto lat = std::make_shared<int64_t>(0), lon = std::make_shared<int64_t>(0);
    auto* cmd = q->add_subcommand("assets", "Search listed systems near a place (SQL read model)");
    cmd->add_option("--db", *url, "The read model: sqlite:PATH or postgresql://...")->required();
    cmd->add_option("--lat-e6", *lat, "Latitude, micro-degrees")->required();
    cmd->add_option("--lon-e6", *lon, "Longitude, micro-degrees")->required();
    add_filter(cmd, *f);
    cmd->callback([f, url, lat, lon] {
      agreements::MatchFilter filter;
      if (auto r = filter.parse(f->params()); !r) finish(fail(r.status()));
      auto r = open_db(*url)->search_assets(*lat, *lon, filter);
      if (!r) finish(fail(r.status()));
      print_json(*r);
    });
  }
  auto id = std::make_shared<std::string>();
  for (auto [name, prefix, suffix, help] :
       {std::tuple{"asset", "assets/", "", "A listed system"},
        std::tuple{"premises", "premises/", "", "Premises"},
        std::tuple{"agreement", "agreements/", "", "An agreement: terms, hash, status, arrears"},
        std::tuple{"agreement-text", "agreements/", "/text",
                   "The human-readable terms of an agreement"},
        std::tuple{"payments", "agreements/", "/payments", "An agreement's billed periods"},
        std::tuple{"rating", "ratings/", "", "An account's rating (thousandths)"}}) {
    auto* cmd = q->add_subcommand(name, help);
    cmd->add_option("id", *id, "Id (or account for rating)")->required();
    std::string pre = prefix, suf = suffix;
    cmd->callback([cmd, get, id, pre, suf] { get(cmd, pre + *id + suf); });
  }
}

}  // namespace

void add_agreements_commands(CLI::App& app) {
  register_agreements_codes();
  db::register_db_codes();
  add_tx(app);
  add_queries(app);
}

}  // namespace gridpact::cli
