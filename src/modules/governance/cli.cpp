#include "modules/governance/cli.hpp"

#include <charconv>

#include "modules/governance/governance.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"

namespace gridpact::governance {
namespace {

struct ProposeArgs {
  std::vector<std::string> sets;
  uint64_t deadline_blocks = 100;
  std::optional<uint64_t> activate_at;
  std::string memo;
  std::optional<uint64_t> threshold;
  std::vector<std::string> add_roots, remove_roots, add_measurements, remove_measurements;
  std::vector<std::string> add_members, remove_members, add_validators, remove_validators;
  std::vector<std::string> set_fees, add_commodities;
};

struct VoteArgs {
  uint64_t proposal = 0;
  bool yes = false, no = false, abstain = false;
};

Result<PublicKey> parse_key(const std::string& hex, const char* what) {
  auto k = PublicKey::from_hex(hex);
  if (!k) return error(Code::kInvalidArgument, std::string(what) + " must be 64 hex digits");
  return *k;
}

Result<Hash32> parse_hash(const std::string& hex, const char* what) {
  auto h = Hash32::from_hex(hex);
  if (!h) return error(Code::kInvalidArgument, std::string(what) + " must be 64 hex digits");
  return *h;
}

bool parse_fee(const std::string& text, uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// The proposal's actions, in a fixed order: governed actions, then parameter changes (the
// chain applies parameters after the actions whatever their order). Root files are read
// through the host (`context`).
Result<std::vector<Action>> actions_of(const ProposeArgs& a, const cli::TxContext& context) {
  std::vector<Action> out;
  for (const auto& hex : a.add_members) {
    auto k = parse_key(hex, "--add-member");
    if (!k) return k.status();
    out.push_back(governed_action("governance/add_member", MemberAction{*k}));
  }
  for (const auto& hex : a.remove_members) {
    auto k = parse_key(hex, "--remove-member");
    if (!k) return k.status();
    out.push_back(governed_action("governance/remove_member", MemberAction{*k}));
  }
  for (const auto& hex : a.add_validators) {
    auto k = parse_key(hex, "--add-validator");
    if (!k) return k.status();
    out.push_back(governed_action("governance/add_validator", ValidatorAction{*k}));
  }
  for (const auto& hex : a.remove_validators) {
    auto k = parse_key(hex, "--remove-validator");
    if (!k) return k.status();
    out.push_back(governed_action("governance/remove_validator", ValidatorAction{*k}));
  }
  for (const auto& path : a.add_roots) {
    auto der = context.read_file(path);
    if (!der) return der.status();
    if (der->size() > meters::kMaxPolicyData)
      return error(Code::kInvalidArgument,
                   path + " is larger than " + std::to_string(meters::kMaxPolicyData) + " bytes");
    out.push_back(governed_action("meters/add_root", meters::RootAction{*der}));
  }
  for (const auto& hex : a.remove_roots) {
    auto h = parse_hash(hex, "--remove-root");
    if (!h) return h.status();
    out.push_back(governed_action("meters/remove_root", meters::RootHashAction{*h}));
  }
  for (const auto& hex : a.add_measurements) {
    auto h = parse_hash(hex, "--add-measurement");
    if (!h) return h.status();
    out.push_back(governed_action("meters/add_measurement", meters::MeasurementAction{*h}));
  }
  for (const auto& hex : a.remove_measurements) {
    auto h = parse_hash(hex, "--remove-measurement");
    if (!h) return h.status();
    out.push_back(governed_action("meters/remove_measurement", meters::MeasurementAction{*h}));
  }
  market::FeesAction fees;
  for (const auto& s : a.set_fees) {  // FROM:TO=FEE
    auto colon = s.find(':'), eq = s.find('=');
    uint64_t fee = 0;
    if (colon == std::string::npos || eq == std::string::npos || colon == 0 || eq < colon + 2 ||
        !parse_fee(s.substr(eq + 1), fee))
      return error(Code::kInvalidArgument, "--set-fee takes FROM:TO=FEE, not " + s);
    fees.fees.push_back({s.substr(0, colon), s.substr(colon + 1, eq - colon - 1), fee});
  }
  if (!fees.fees.empty()) out.push_back(governed_action("market/set_fees", fees));
  for (const auto& name : a.add_commodities)
    out.push_back(governed_action("market/add_commodity", market::CommodityAction{name}));
  for (const auto& s : a.sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      return error(Code::kInvalidArgument, "--set takes NAME=VALUE, not " + s);
    out.push_back(set_param(s.substr(0, eq), s.substr(eq + 1)));
  }
  if (a.threshold) out.push_back(set_param("governance.threshold", std::to_string(*a.threshold)));
  if (out.empty()) return error(Code::kInvalidArgument, "a proposal needs at least one change");
  return out;
}

// Too many changes or too long a memo: the payload's encoder refuses them (FIELD_TOO_LONG),
// as the chain would.
Result<cli::Payload> propose_payload(const ProposeArgs& a, const cli::TxContext& context) {
  auto actions = actions_of(a, context);
  if (!actions) return actions.status();
  ProposePayload p{std::move(*actions), a.deadline_blocks, a.activate_at, a.memo};
  return cli::Payload{kPropose, encode(p)};
}

Result<cli::Payload> vote_payload(const VoteArgs& a) {
  if (int(a.yes) + int(a.no) + int(a.abstain) != 1)
    return error(Code::kInvalidArgument, "give exactly one of --yes, --no, --abstain");
  auto choice = a.yes ? Choice::kYes : a.no ? Choice::kNo : Choice::kAbstain;
  return cli::Payload{kVote, encode(VotePayload{a.proposal, choice})};
}

}  // namespace

void add_commands(cli::CommandHost& host) {
  register_governance_codes();  // names of codes in the node's answers

  auto p = std::make_shared<ProposeArgs>();
  auto& propose =
      host.tx("propose", "Propose parameter changes and governed actions (governance members)",
              [p](const cli::TxContext& c) { return propose_payload(*p, c); });
  propose.add_option("--set", p->sets, "NAME=VALUE: a parameter (gridpact query params)");
  propose.add_option("--set-fee", p->set_fees,
                     "FROM:TO=FEE: a zone fee of the market, micro-units per kWh (all in one "
                     "market/set_fees action; the matrix must stay complete)");
  propose.add_option("--add-commodity", p->add_commodities, "A commodity the market trades");
  propose.add_option("--deadline-blocks", p->deadline_blocks,
                     "Blocks the vote stays open (default 100)");
  propose.add_option("--activate-at", p->activate_at,
                     "Height at which a passed proposal executes (default: when it passes)");
  propose.add_option("--memo", p->memo, "Why (at most 256 bytes)");
  propose.add_option("--threshold", p->threshold, "New threshold of yes votes");
  propose.add_option("--add-member", p->add_members, "A member's public key to add");
  propose.add_option("--remove-member", p->remove_members, "A member's public key to remove");
  propose.add_option("--add-validator", p->add_validators, "A validator key to add");
  propose.add_option("--remove-validator", p->remove_validators, "A validator key to remove");
  propose.add_option("--add-root", p->add_roots, "PEM_FILE: a trusted attestation root");
  propose.add_option("--remove-root", p->remove_roots, "A root's SHA-256 (hex) to distrust");
  propose.add_option("--add-measurement", p->add_measurements,
                     "HEX: an allowed firmware measurement");
  propose.add_option("--remove-measurement", p->remove_measurements,
                     "HEX: a firmware measurement to disallow");

  auto v = std::make_shared<VoteArgs>();
  auto& vote = host.tx("vote", "Vote on an open proposal (governance members)",
                       [v]() { return vote_payload(*v); });
  vote.add_option("--proposal", v->proposal, "Proposal id")->required();
  vote.add_flag("--yes", v->yes, "Vote yes");
  vote.add_flag("--no", v->no, "Vote no");
  vote.add_flag("--abstain", v->abstain, "Abstain");

  auto status = std::make_shared<std::string>();
  auto& proposals = host.query(
      "proposals", "Governance proposals: id, status, changes, votes, deadline (JSON array)",
      [status]() -> Result<std::string> {
        return "/v1/governance/proposals" + (status->empty() ? "" : "?status=" + *status);
      });
  proposals.add_option("--status", *status, "Only open, passed, rejected, expired or failed");
  auto id = std::make_shared<uint64_t>(0);
  auto& one = host.query("proposal", "One governance proposal", [id]() -> Result<std::string> {
    return "/v1/governance/proposals/" + std::to_string(*id);
  });
  one.add_option("id", *id, "Proposal id")->required();
  host.query("members", "Governance members and threshold",
             []() -> Result<std::string> { return std::string("/v1/governance/members"); });
  host.query("validators", "The validator set",
             []() -> Result<std::string> { return std::string("/v1/governance/validators"); });
}

}  // namespace gridpact::governance
