#include "modules/agreements/cli.hpp"

#include <algorithm>

#include "modules/agreements/agreements.hpp"

namespace gridpact::agreements {
namespace {

Result<PublicKey> account(const std::string& hex, const char* what) {
  auto k = PublicKey::from_hex(hex);
  if (!k) return error(Code::kInvalidArgument, std::string(what) + " must be 64 hex digits");
  return *k;
}

// An optional id: empty gives the zero hash.
Result<Hash32> hash32(const std::string& hex, const char* what) {
  if (hex.empty()) return Hash32{};
  auto h = Hash32::from_hex(hex);
  if (!h) return error(Code::kInvalidArgument, std::string(what) + " must be 64 hex digits");
  return *h;
}

Result<uint8_t> type_mask(const std::string& list) {
  uint8_t mask = 0;
  size_t pos = 0;
  while (!list.empty() && pos <= list.size()) {
    size_t comma = std::min(list.find(',', pos), list.size());
    auto t = parse_type(std::string_view(list).substr(pos, comma - pos));
    if (!t)
      return error(Code::kInvalidArgument,
                   "unknown type in '" + list + "' (pv,wind,hydro,biomass,battery)");
    mask |= type_bit(*t);
    pos = comma + 1;
  }
  return mask;
}

Result<Terms> read_terms(const cli::TxContext& context, const std::string& path) {
  auto bytes = context.read_file(path);
  if (!bytes) return error(Code::kInvalidArgument, "cannot read " + path);
  json j = json::parse(bytes->begin(), bytes->end(), nullptr, false);
  if (j.is_discarded()) return error(Code::kMalformedJson, path + " is not JSON");
  return terms_from_json(j);
}

struct ProposeArgs {
  std::string template_name, terms_file, owner, host, dso;
  TemplateArgs t;
  uint16_t dso_bps = 0;
  uint64_t fee = 0;
  std::optional<uint16_t> host_token_share_bps;
  bool print_only = false;
};

Result<Terms> build_terms(const ProposeArgs& a, const cli::TxContext& context) {
  if (!a.terms_file.empty()) return read_terms(context, a.terms_file);
  std::string name = a.template_name;
  std::replace(name.begin(), name.end(), '-', '_');
  auto kind = parse_kind(name);
  if (!kind || *kind == Kind::kCustom)
    return error(Code::kInvalidArgument,
                 "--template is lease, lease-to-own, ppa or surplus-share (or give --terms)");
  TemplateArgs t = a.t;
  auto owner = account(a.owner, "--owner");
  if (!owner) return owner.status();
  auto host = account(a.host, "--host");
  if (!host) return host.status();
  t.owner = *owner;
  t.host = *host;
  auto made = make_template(*kind, t);
  if (!made) return made.status();
  Terms* terms = &made.value();
  if (!a.dso.empty()) {  // a DSO share of the energy payment, taken from the owner's
    auto dso = account(a.dso, "--dso");
    if (!dso) return dso.status();
    terms->parties.push_back({*dso, Role::kDso});
    if (!terms->energy_shares.empty() && a.dso_bps > 0 && a.dso_bps < kBps) {
      terms->energy_shares[0].bps = static_cast<uint16_t>(terms->energy_shares[0].bps - a.dso_bps);
      terms->energy_shares.push_back({static_cast<uint8_t>(terms->parties.size() - 1), a.dso_bps});
    }
  }
  terms->termination_fee_micro = a.fee;
  terms->host_token_share_bps = a.host_token_share_bps;
  return *terms;
}

Result<cli::Payload> propose_payload(const ProposeArgs& a, const cli::TxContext& context) {
  auto t = build_terms(a, context);
  if (!t) return t.status();
  if (a.print_only) {
    Hash32 h = terms_hash(*t);
    cli::Payload shown;
    shown.print_instead = json{{"terms", terms_json(*t)},
                               {"terms_hash", h.hex()},
                               {"valid", validate_terms(*t).to_string()},
                               {"text", render_terms(*t, h)}};
    return shown;
  }
  return cli::Payload{kPropose, encode_terms(*t)};
}

void add_listing_commands(cli::CommandHost& host) {
  {
    auto a = std::make_shared<Asset>();
    auto type = std::make_shared<std::string>("pv");
    auto meter = std::make_shared<std::string>();
    auto& cmd = host.tx("asset-register", "List a generation system you own",
                        [a, type, meter]() -> Result<cli::Payload> {
                          auto t = parse_type(*type);
                          if (!t) return error(Code::kInvalidArgument, "unknown --type " + *type);
                          a->type = *t;
                          auto m = hash32(*meter, "--meter");
                          if (!m) return m.status();
                          a->meter = *m;
                          return cli::Payload{kRegisterAsset, encode(*a)};
                        });
    cmd.add_option("--type", *type, "pv, wind, hydro, biomass or battery");
    cmd.add_option("--capacity-w", a->capacity_w, "Capacity in W")->required();
    cmd.add_option("--meter", *meter, "Id (hex) of the meter that measures it")->required();
    cmd.add_option("--microgrid", a->microgrid, "Microgrid name");
    cmd.add_option("--lat-e6", a->lat_e6, "Latitude in micro-degrees");
    cmd.add_option("--lon-e6", a->lon_e6, "Longitude in micro-degrees");
    cmd.add_option("--price", a->price_micro_per_kwh, "Offered price, micro-units per kWh");
    cmd.add_option("--name", a->name, "A name");
  }
  {
    auto id = std::make_shared<uint64_t>(0);
    auto to = std::make_shared<std::string>();
    auto& cmd =
        host.tx("asset-transfer", "Transfer an asset you own (not while it serves an agreement)",
                [id, to]() -> Result<cli::Payload> {
                  auto k = account(*to, "--to");
                  if (!k) return k.status();
                  return cli::Payload{kTransferAsset, encode(TransferAssetPayload{*id, *k})};
                });
    cmd.add_option("--asset", *id, "Asset id")->required();
    cmd.add_option("--to", *to, "New owner (public key hex)")->required();
  }
  {
    auto p = std::make_shared<Premises>();
    auto prefer = std::make_shared<std::string>();
    auto meter = std::make_shared<std::string>();
    auto& cmd = host.tx("premises-register", "List premises that can host a system",
                        [p, prefer, meter]() -> Result<cli::Payload> {
                          auto mask = type_mask(*prefer);
                          if (!mask) return mask.status();
                          p->preferred_types = *mask;
                          auto m = hash32(*meter, "--meter");
                          if (!m) return m.status();
                          p->meter = *m;
                          return cli::Payload{kRegisterPremises, encode(*p)};
                        });
    cmd.add_option("--area-m2", p->area_m2, "Usable area in m2")->required();
    cmd.add_option("--lat-e6", p->lat_e6, "Latitude in micro-degrees");
    cmd.add_option("--lon-e6", p->lon_e6, "Longitude in micro-degrees");
    cmd.add_option("--microgrid", p->microgrid, "Microgrid name");
    cmd.add_option("--prefer", *prefer, "Preferred types, e.g. pv,battery (default any)");
    cmd.add_option("--consumption-wh", p->expected_consumption_wh,
                   "Expected consumption per year, Wh");
    cmd.add_option("--meter", *meter, "Connection meter id (hex); its export is the surplus");
    cmd.add_option("--name", p->name, "A name");
  }
}

void add_agreement_commands(cli::CommandHost& host) {
  {
    auto a = std::make_shared<ProposeArgs>();
    auto& cmd =
        host.tx("agreement-propose", "Propose an agreement from a template or a terms file",
                [a](const cli::TxContext& context) { return propose_payload(*a, context); });
    cmd.add_option("--template", a->template_name, "lease, lease-to-own, ppa or surplus-share");
    cmd.add_option("--terms", a->terms_file,
                   "Terms as JSON (the format of `query agreement`'s terms)");
    cmd.add_option("--asset", a->t.asset, "Asset id");
    cmd.add_option("--premises", a->t.premises, "Premises id (0: none, PPA only)");
    cmd.add_option("--owner", a->owner, "Owner account");
    cmd.add_option("--host", a->host, "Host (buyer) account");
    cmd.add_option("--start-ms", a->t.start_ms, "Start of the term (block time, ms)");
    cmd.add_option("--period-ms", a->t.period_ms, "Billing period, ms");
    cmd.add_option("--periods", a->t.periods, "Term length in billing periods");
    cmd.add_option("--price", a->t.price_micro_per_kwh,
                   "Tariff / PPA price / surplus price, micro-units per kWh");
    cmd.add_option("--rebate-bps", a->t.rebate_bps,
                   "Lease: rent rebate; surplus-share: the owner's share");
    cmd.add_option("--instalment", a->t.instalment_micro,
                   "Lease-to-own: instalment per period, micro-units");
    cmd.add_option("--volume-wh", a->t.volume_wh, "PPA: contracted volume per period, Wh");
    cmd.add_option("--dso", a->dso, "Add a DSO party");
    cmd.add_option("--dso-bps", a->dso_bps, "The DSO's share of the energy payment, bps");
    cmd.add_option("--termination-fee", a->fee, "Early termination fee, micro-units");
    cmd.add_option("--host-token-share-bps", a->host_token_share_bps,
                   "The host's share of the asset's green tokens, bps (default: as the energy "
                   "revenue)");
    cmd.add_flag("--print", a->print_only, "Print the terms, their hash and text; submit nothing");
  }
  for (auto [name, type, help] :
       {std::tuple{"agreement-sign", kSign, "Sign an agreement's terms (by their hash)"},
        std::tuple{"agreement-sign-amendment", kSignAmendment,
                   "Sign a pending amendment (by its terms hash)"}}) {
    auto p = std::make_shared<SignPayload>();
    auto hash = std::make_shared<std::string>();
    uint16_t ty = type;
    auto& cmd = host.tx(name, help, [p, hash, ty]() -> Result<cli::Payload> {
      auto h = hash32(*hash, "--terms-hash");
      if (!h) return h.status();
      p->terms_hash = *h;
      return cli::Payload{ty, encode(*p)};
    });
    cmd.add_option("--agreement", p->agreement, "Agreement id")->required();
    cmd.add_option("--terms-hash", *hash, "SHA-256 of the terms you agree to (query agreement ID)")
        ->required();
  }
  {
    auto id = std::make_shared<uint64_t>(0);
    auto file = std::make_shared<std::string>();
    auto& cmd = host.tx("agreement-amend", "Propose new terms for an active agreement",
                        [id, file](const cli::TxContext& context) -> Result<cli::Payload> {
                          auto t = read_terms(context, *file);
                          if (!t) return t.status();
                          return cli::Payload{kAmend, encode(AmendPayload{*id, *t})};
                        });
    cmd.add_option("--agreement", *id, "Agreement id")->required();
    cmd.add_option("--terms", *file, "New terms (JSON)")->required();
  }
  for (auto [name, type, help] :
       {std::tuple{"agreement-terminate", kTerminate,
                   "Withdraw a proposal, or end an agreement early (pays the fee)"},
        std::tuple{"agreement-pay", kPay, "Pay an agreement's arrears (host)"},
        std::tuple{"agreement-execute", kExecute,
                   "Bill the periods that have ended now (any party)"}}) {
    auto id = std::make_shared<uint64_t>(0);
    uint16_t ty = type;
    auto& cmd = host.tx(name, help, [id, ty]() -> Result<cli::Payload> {
      return cli::Payload{ty, encode(IdPayload{*id})};
    });
    cmd.add_option("--agreement", *id, "Agreement id")->required();
  }
  {
    auto p = std::make_shared<RatePayload>();
    auto trade = std::make_shared<std::string>();
    auto& cmd = host.tx(
        "rate", "Rate the other party of a settled agreement period or market trade (1-5, once)",
        [p, trade]() -> Result<cli::Payload> {
          if (trade->empty()) {
            if (p->agreement == 0)
              return error(Code::kInvalidArgument,
                           "rate needs --agreement and --period, or --trade");
            return cli::Payload{kRate, encode(*p)};
          }
          auto ref = TradeRef::parse(*trade);
          if (!ref) return error(Code::kInvalidArgument, "--trade is COMMODITY/PERIOD/INDEX");
          return cli::Payload{kRateTrade, encode(RateTradePayload{*ref, p->score})};
        });
    auto* agreement = cmd.add_option("--agreement", p->agreement, "Agreement id");
    auto* period = cmd.add_option("--period", p->period, "Settled period of the agreement");
    auto* by_trade = cmd.add_option("--trade", *trade,
                                    "Settled market trade COMMODITY/PERIOD/INDEX "
                                    "(e.g. electricity/1996/0)");
    agreement->needs(period);
    period->needs(agreement);
    by_trade->excludes(agreement)->excludes(period);
    cmd.add_option("--score", p->score, "1 to 5")->required();
  }
}

std::string query_string(const json& params) {
  std::string q;
  for (const auto& [k, v] : params.items())
    q += (q.empty() ? "?" : "&") + k + "=" + v.get<std::string>();
  return q;
}

void add_queries(cli::CommandHost& host) {
  auto f = std::make_shared<FilterArgs>();
  auto premises = std::make_shared<uint64_t>(0);
  auto& match =
      host.query("match", "Listed systems ranked for premises (type, capacity, distance, ratings)",
                 [f, premises]() -> Result<std::string> {
                   json params = f->params();
                   params["premises"] = std::to_string(*premises);
                   return "/v1/agreements/match" + query_string(params);
                 });
  match.add_option("--premises", *premises, "Premises id")->required();
  add_filter_options(match, *f);

  auto id = std::make_shared<std::string>();
  for (auto [name, prefix, suffix, help] :
       {std::tuple{"asset", "assets/", "", "A listed system"},
        std::tuple{"premises", "premises/", "", "Premises"},
        std::tuple{"agreement", "agreements/", "", "An agreement: terms, hash, status, arrears"},
        std::tuple{"agreement-text", "agreements/", "/text",
                   "The human-readable terms of an agreement"},
        std::tuple{"payments", "agreements/", "/payments", "An agreement's billed periods"},
        std::tuple{"rating", "ratings/", "", "An account's rating (thousandths)"}}) {
    std::string pre = prefix, suf = suffix;
    auto& cmd = host.query(name, help, [id, pre, suf]() -> Result<std::string> {
      return "/v1/agreements/" + pre + *id + suf;
    });
    cmd.add_option("id", *id, "Id (or account for rating)")->required();
  }
}

}  // namespace

json FilterArgs::params() const {
  json p = json::object();
  if (!type.empty()) p["type"] = type;
  if (min_w) p["min_w"] = std::to_string(*min_w);
  if (max_w) p["max_w"] = std::to_string(*max_w);
  if (radius_km) p["radius_km"] = std::to_string(*radius_km);
  if (min_rating) p["min_rating"] = std::to_string(*min_rating);
  if (limit) p["limit"] = std::to_string(*limit);
  return p;
}

void add_filter_options(CLI::App& cmd, FilterArgs& f) {
  cmd.add_option("--type", f.type, "Types, e.g. pv,wind");
  cmd.add_option("--min-w", f.min_w, "Minimum capacity, W");
  cmd.add_option("--max-w", f.max_w, "Maximum capacity, W");
  cmd.add_option("--radius-km", f.radius_km, "Search radius, km (default 50, at most 500)");
  cmd.add_option("--min-rating", f.min_rating,
                 "Minimum rating of both parties, thousandths (e.g. 3500)");
  cmd.add_option("--limit", f.limit, "At most this many results (default 20)");
}

void add_commands(cli::CommandHost& host) {
  register_agreements_codes();  // names of codes in the node's answers
  add_listing_commands(host);
  add_agreement_commands(host);
  add_queries(host);
}

}  // namespace gridpact::agreements
