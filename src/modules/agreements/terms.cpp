// Terms: canonical encoding, JSON, validation, templates and the human-readable rendering.
#include <set>
#include <sstream>

#include "codec/codec.hpp"
#include "modules/agreements/agreements.hpp"

namespace gridpact::agreements {
namespace {

Status check_shares(const Terms& t, const std::vector<Share>& shares, const char* what,
                    bool required) {
  if (shares.empty()) {
    if (required) return error(kSharesNot100, std::string(what) + " shares are required");
    return ok();
  }
  uint64_t sum = 0;
  std::set<uint8_t> seen;
  for (const auto& s : shares) {
    if (s.party >= t.parties.size())
      return error(kBadTerms, std::string(what) + " share names party " + std::to_string(s.party) +
                                  ", there are " + std::to_string(t.parties.size()));
    if (!seen.insert(s.party).second)
      return error(kBadTerms, std::string(what) + " shares name a party twice");
    if (s.bps == 0) return error(kBadTerms, std::string(what) + " share of 0 bps");
    sum += s.bps;
  }
  if (sum != kBps)
    return error(kSharesNot100, std::string(what) + " shares add up to " + std::to_string(sum) +
                                    " bps, not 10000");
  return ok();
}

json shares_json(const Terms& t, const std::vector<Share>& shares) {
  json out = json::array();
  for (const auto& s : shares)
    out.push_back({{"party", s.party},
                   {"account", s.party < t.parties.size() ? t.parties[s.party].account.hex() : ""},
                   {"bps", s.bps}});
  return out;
}

Result<std::vector<Share>> shares_from_json(const json& j) {
  std::vector<Share> out;
  if (j.is_null()) return out;
  if (!j.is_array() || j.size() > kMaxShares)
    return error(Code::kInvalidArgument, "shares must be a list of {party, bps}");
  for (const auto& s : j) {
    if (!s.is_object() || !s.contains("party") || !s.contains("bps") ||
        !s["party"].is_number_unsigned() || !s["bps"].is_number_unsigned() ||
        s["party"].get<uint64_t>() > 255 || s["bps"].get<uint64_t>() > 65535)
      return error(Code::kInvalidArgument, "a share is {party: index, bps: 1..10000}");
    out.push_back({s["party"].get<uint8_t>(), s["bps"].get<uint16_t>()});
  }
  return out;
}

std::string money(uint64_t micro) {
  std::string frac = std::to_string(micro % 1'000'000);
  frac.insert(0, 6 - frac.size(), '0');
  return std::to_string(micro / 1'000'000) + "." + frac;
}
std::string percent(uint64_t bps) {
  std::string frac = std::to_string(bps % 100);
  if (frac.size() < 2) frac.insert(0, 1, '0');
  return std::to_string(bps / 100) + "." + frac + "%";
}

}  // namespace

std::string_view type_name(AssetType t) {
  switch (t) {
    case AssetType::kPv:
      return "pv";
    case AssetType::kWind:
      return "wind";
    case AssetType::kHydro:
      return "hydro";
    case AssetType::kBiomass:
      return "biomass";
    case AssetType::kBattery:
      return "battery";
  }
  return "?";
}
std::optional<AssetType> parse_type(std::string_view n) {
  for (uint8_t i = 1; i <= 5; ++i)
    if (type_name(static_cast<AssetType>(i)) == n) return static_cast<AssetType>(i);
  return std::nullopt;
}
std::string_view role_name(Role r) {
  switch (r) {
    case Role::kOwner:
      return "owner";
    case Role::kHost:
      return "host";
    case Role::kDso:
      return "dso";
    case Role::kTax:
      return "tax";
    case Role::kThirdParty:
      return "third_party";
  }
  return "?";
}
std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::kLease:
      return "lease";
    case Kind::kLeaseToOwn:
      return "lease_to_own";
    case Kind::kPpa:
      return "ppa";
    case Kind::kSurplusShare:
      return "surplus_share";
    case Kind::kCustom:
      return "custom";
  }
  return "?";
}
std::optional<Kind> parse_kind(std::string_view n) {
  for (uint8_t i = 0; i <= 4; ++i)
    if (kind_name(static_cast<Kind>(i)) == n) return static_cast<Kind>(i);
  return std::nullopt;
}

std::optional<size_t> Terms::party_index(const PublicKey& who) const {
  for (size_t i = 0; i < parties.size(); ++i)
    if (parties[i].account == who) return i;
  return std::nullopt;
}
std::optional<size_t> Terms::role_index(Role r) const {
  for (size_t i = 0; i < parties.size(); ++i)
    if (parties[i].role == r) return i;
  return std::nullopt;
}

// The layout is Terms::fields (agreements.hpp).
Bytes encode_terms(const Terms& t) {
  return codec::encode_fields(t);
}

Terms read_terms(codec::Reader& r) {
  Terms t;
  codec::read_fields(r, t);
  return t;
}

Result<Terms> decode_terms(const Bytes& b) {
  return codec::decode<Terms>(b.data(), b.size(), read_terms);
}

Hash32 terms_hash(const Terms& t) {
  return sha256(encode_terms(t));
}

Status validate_terms(const Terms& t) {
  if (t.parties.size() < 2 || t.parties.size() > kMaxParties)
    return error(kBadTerms, "an agreement has 2 to 8 parties");
  std::set<PublicKey> accounts;
  int owners = 0, hosts = 0;
  for (const auto& p : t.parties) {
    if (!accounts.insert(p.account).second) return error(kBadTerms, "a party is listed twice");
    owners += p.role == Role::kOwner;
    hosts += p.role == Role::kHost;
  }
  if (owners != 1 || hosts != 1)
    return error(kBadTerms, "exactly one owner and one host are required");
  if (t.asset == 0) return error(kBadTerms, "the terms name no asset");
  if (t.period_ms < 1000 || t.period_ms > 400ull * 86'400'000)
    return error(kBadTerms, "billing period must be 1 s to 400 days");
  if (t.periods == 0 || t.periods > kMaxPeriods)
    return error(kBadTerms, "term must be 1 to 1200 billing periods");
  if (!checked_add(t.start_ms, t.period_ms * t.periods))
    return error(kBadTerms, "term end overflows");
  if (t.rebate_bps > kBps) return error(kBadTerms, "rebate above 100%");
  if (t.penalty_bps > kBps) return error(kBadTerms, "penalty above 100%");
  if (t.host_token_share_bps && *t.host_token_share_bps > kBps)
    return error(kBadTokenShare, "host_token_share_bps " + std::to_string(*t.host_token_share_bps) +
                                     " is above 10000");
  if (t.default_ms != 0 && t.default_ms < t.grace_ms)
    return error(kBadTerms, "default must come after the grace period");
  if (t.premises == 0 && t.kind != Kind::kPpa && t.kind != Kind::kCustom)
    return error(kBadTerms, std::string(kind_name(t.kind)) + " needs premises");
  if (Status s = check_shares(t, t.energy_shares, "energy", t.tariff_micro_per_kwh > 0); !s)
    return s;
  if (Status s = check_shares(t, t.surplus_shares, "surplus", t.surplus_price_micro_per_kwh > 0);
      !s)
    return s;
  switch (t.kind) {
    case Kind::kLease:
      if (t.disposition != Disposition::kReturnToOwner)
        return error(kBadTerms, "a lease returns the asset to its owner");
      if (t.tariff_micro_per_kwh == 0) return error(kBadTerms, "a lease needs a tariff");
      break;
    case Kind::kLeaseToOwn:
      if (t.disposition != Disposition::kTransferToHost)
        return error(kBadTerms, "lease-to-own transfers the asset at the end");
      if (t.instalment_micro == 0) return error(kBadTerms, "lease-to-own needs instalments");
      if (t.rebate_bps != 0) return error(kBadTerms, "lease-to-own pays no rent");
      break;
    case Kind::kPpa:
      if (t.tariff_micro_per_kwh == 0 || t.volume_wh == 0)
        return error(kBadTerms, "a PPA needs a price and a volume");
      break;
    case Kind::kSurplusShare:
      if (t.surplus_price_micro_per_kwh == 0)
        return error(kBadTerms, "surplus sharing needs a surplus price");
      break;
    case Kind::kCustom:
      break;
  }
  return ok();
}

json terms_json(const Terms& t) {
  json parties = json::array();
  for (const auto& p : t.parties)
    parties.push_back({{"account", p.account.hex()}, {"role", role_name(p.role)}});
  return {{"kind", kind_name(t.kind)},
          {"asset", t.asset},
          {"premises", t.premises},
          {"parties", parties},
          {"start_ms", t.start_ms},
          {"period_ms", t.period_ms},
          {"periods", t.periods},
          {"tariff_micro_per_kwh", t.tariff_micro_per_kwh},
          {"rebate_bps", t.rebate_bps},
          {"instalment_micro", t.instalment_micro},
          {"volume_wh", t.volume_wh},
          {"surplus_price_micro_per_kwh", t.surplus_price_micro_per_kwh},
          {"energy_shares", shares_json(t, t.energy_shares)},
          {"surplus_shares", shares_json(t, t.surplus_shares)},
          {"disposition",
           t.disposition == Disposition::kReturnToOwner ? "return_to_owner" : "transfer_to_host"},
          {"grace_ms", t.grace_ms},
          {"penalty_bps", t.penalty_bps},
          {"default_ms", t.default_ms},
          {"termination_fee_micro", t.termination_fee_micro},
          {"note", t.note},
          {"host_token_share_bps",
           t.host_token_share_bps ? json(*t.host_token_share_bps) : json(nullptr)}};
}

Result<Terms> terms_from_json(const json& j) {
  if (!j.is_object()) return error(Code::kInvalidArgument, "terms must be an object");
  Terms t;
  try {
    auto u64 = [&](const char* k) { return j.contains(k) ? j.at(k).get<uint64_t>() : 0; };
    auto kind = parse_kind(j.value("kind", "custom"));
    if (!kind) return error(Code::kInvalidArgument, "unknown kind");
    t.kind = *kind;
    t.asset = u64("asset");
    t.premises = u64("premises");
    for (const auto& p : j.at("parties")) {
      auto pk = PublicKey::from_hex(p.at("account").get<std::string>());
      if (!pk) return error(Code::kInvalidArgument, "party account must be 64 hex digits");
      std::string role = p.at("role").get<std::string>();
      std::optional<Role> r;
      for (uint8_t i = 0; i <= 4; ++i)
        if (role_name(static_cast<Role>(i)) == role) r = static_cast<Role>(i);
      if (!r) return error(Code::kInvalidArgument, "unknown role " + role);
      t.parties.push_back({*pk, *r});
    }
    t.start_ms = u64("start_ms");
    t.period_ms = u64("period_ms");
    t.periods = static_cast<uint32_t>(std::min<uint64_t>(u64("periods"), UINT32_MAX));
    t.tariff_micro_per_kwh = u64("tariff_micro_per_kwh");
    t.rebate_bps = static_cast<uint16_t>(std::min<uint64_t>(u64("rebate_bps"), 65535));
    t.instalment_micro = u64("instalment_micro");
    t.volume_wh = u64("volume_wh");
    t.surplus_price_micro_per_kwh = u64("surplus_price_micro_per_kwh");
    auto es = shares_from_json(j.value("energy_shares", json()));
    if (!es) return es.status();
    t.energy_shares = *es;
    auto ss = shares_from_json(j.value("surplus_shares", json()));
    if (!ss) return ss.status();
    t.surplus_shares = *ss;
    std::string disp = j.value("disposition", "return_to_owner");
    if (disp == "transfer_to_host")
      t.disposition = Disposition::kTransferToHost;
    else if (disp != "return_to_owner")
      return error(Code::kInvalidArgument, "disposition is return_to_owner or transfer_to_host");
    t.grace_ms = u64("grace_ms");
    t.penalty_bps = static_cast<uint16_t>(std::min<uint64_t>(u64("penalty_bps"), 65535));
    t.default_ms = u64("default_ms");
    t.termination_fee_micro = u64("termination_fee_micro");
    t.note = j.value("note", "");
    if (t.note.size() > kMaxNote) return error(Code::kFieldTooLong, "note too long");
    if (j.contains("host_token_share_bps") && !j.at("host_token_share_bps").is_null())
      t.host_token_share_bps =
          static_cast<uint16_t>(std::min<uint64_t>(u64("host_token_share_bps"), 65535));
  } catch (const json::exception& e) {
    return error(Code::kInvalidArgument, std::string("bad terms: ") + e.what());
  }
  return t;
}

std::string render_terms(const Terms& t, const Hash32& hash) {
  std::ostringstream o;
  o << "GridPact agreement (" << kind_name(t.kind) << ")\n";
  o << "Terms hash: " << hash.hex() << "\n\nParties:\n";
  for (size_t i = 0; i < t.parties.size(); ++i)
    o << "  [" << i << "] " << role_name(t.parties[i].role) << ": " << t.parties[i].account.hex()
      << "\n";
  o << "\nThe owner's asset #" << t.asset;
  if (t.premises) o << " is installed at the host's premises #" << t.premises;
  o << ".\nThe term starts at " << t.start_ms << " ms and runs for " << t.periods
    << " billing periods of " << t.period_ms << " ms, each billed from meter data.\n";
  if (t.tariff_micro_per_kwh) {
    o << "The host pays " << money(t.tariff_micro_per_kwh) << " per kWh it uses";
    if (t.volume_wh) o << ", up to " << t.volume_wh << " Wh per period";
    o << ".\n";
    if (t.rebate_bps)
      o << "A rebate of " << percent(t.rebate_bps) << " of that returns to the host as rent.\n";
    o << "The energy payment is shared:";
    for (const auto& s : t.energy_shares) o << " [" << int(s.party) << "] " << percent(s.bps);
    o << ".\n";
  }
  if (t.instalment_micro)
    o << "The host pays the owner an instalment of " << money(t.instalment_micro)
      << " each period.\n";
  if (t.surplus_price_micro_per_kwh) {
    o << "Surplus sold to neighbours is valued at " << money(t.surplus_price_micro_per_kwh)
      << " per kWh and its revenue is shared:";
    for (const auto& s : t.surplus_shares) o << " [" << int(s.party) << "] " << percent(s.bps);
    o << ".\n";
  }
  o << "At the end of the term "
    << (t.disposition == Disposition::kReturnToOwner
            ? "the asset returns to its owner"
            : "ownership of the asset transfers to the host")
    << ".\n";
  o << "A payment unpaid for " << t.grace_ms << " ms incurs a penalty of " << percent(t.penalty_bps)
    << " of the arrears";
  if (t.default_ms)
    o << "; unpaid for " << t.default_ms
      << " ms the agreement defaults and the asset returns to its owner";
  o << ".\nEither the owner or the host may end the agreement early by paying the other "
    << money(t.termination_fee_micro) << "; the asset then returns to its owner.\n";
  if (t.host_token_share_bps)
    o << "Of the green tokens minted for the asset, the host receives "
      << percent(*t.host_token_share_bps) << " and the owner the rest.\n";
  if (!t.note.empty()) o << "Note: " << t.note << "\n";
  return o.str();
}

namespace {
Terms base_template(Kind kind, const TemplateArgs& a) {
  Terms t;
  t.kind = kind;
  t.asset = a.asset;
  t.premises = a.premises;
  t.parties = {{a.owner, Role::kOwner}, {a.host, Role::kHost}};
  t.start_ms = a.start_ms;
  t.period_ms = a.period_ms;
  t.periods = a.periods;
  t.grace_ms = a.period_ms;  // one period to pay late without penalty
  t.penalty_bps = 500;
  t.default_ms = 3 * a.period_ms;
  return t;
}
}  // namespace

Terms lease_template(const TemplateArgs& a) {
  Terms t = base_template(Kind::kLease, a);
  t.tariff_micro_per_kwh = a.price_micro_per_kwh;
  t.rebate_bps = a.rebate_bps;
  t.energy_shares = {{0, kBps}};
  return t;
}
Terms lease_to_own_template(const TemplateArgs& a) {
  Terms t = base_template(Kind::kLeaseToOwn, a);
  t.instalment_micro = a.instalment_micro;
  t.disposition = Disposition::kTransferToHost;
  return t;
}
Terms ppa_template(const TemplateArgs& a) {
  Terms t = base_template(Kind::kPpa, a);
  t.tariff_micro_per_kwh = a.price_micro_per_kwh;
  t.volume_wh = a.volume_wh;
  t.energy_shares = {{0, kBps}};
  return t;
}
Terms surplus_share_template(const TemplateArgs& a) {
  Terms t = base_template(Kind::kSurplusShare, a);
  t.surplus_price_micro_per_kwh = a.price_micro_per_kwh;
  uint16_t owner_bps = a.rebate_bps ? a.rebate_bps : 5000;
  if (owner_bps >= kBps)
    t.surplus_shares = {{0, kBps}};
  else
    t.surplus_shares = {{0, owner_bps}, {1, static_cast<uint16_t>(kBps - owner_bps)}};
  return t;
}
Result<Terms> make_template(Kind kind, const TemplateArgs& a) {
  switch (kind) {
    case Kind::kLease:
      return lease_template(a);
    case Kind::kLeaseToOwn:
      return lease_to_own_template(a);
    case Kind::kPpa:
      return ppa_template(a);
    case Kind::kSurplusShare:
      return surplus_share_template(a);
    case Kind::kCustom:
      break;
  }
  return error(Code::kInvalidArgument, "no template for custom terms");
}

}  // namespace gridpact::agreements
