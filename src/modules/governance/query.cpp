// The governance module's queries: proposals with their changes and votes, members,
// validators.
#include <charconv>

#include "modules/governance/governance.hpp"

namespace gridpact::governance {
namespace {

std::optional<uint64_t> number(const json& params, const char* k) {
  if (!params.is_object() || !params.contains(k)) return std::nullopt;
  const auto& v = params[k];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (!v.is_string()) return std::nullopt;
  const std::string s = v.get<std::string>();
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return n;
}

json keys_json(const std::vector<PublicKey>& keys) {
  json out = json::array();
  for (const auto& k : keys) out.push_back(k.hex());
  return out;
}

}  // namespace

json GovernanceModule::action_json(const Action& a) const {
  if (a.kind == ActionKind::kSetParam) {
    json j = {{"set", a.name}, {"value", a.value}};
    if (const ParamSpec* spec = registry_ ? registry_->find(a.name) : nullptr) {
      if (spec->type == ParamType::kU64 || spec->type == ParamType::kBool)
        j["value"] = json::parse(a.value, nullptr, false);  // digits or true/false, checked
    }
    return j;
  }
  json j = {{"action", a.name}};
  for (const Module* m : modules_)
    if (const auto* e = m->governed_actions().find(a.name))
      if (auto v = e->view(a.payload)) {
        j["payload"] = *v;
        return j;
      }
  j["payload"] = {{"undecodable", to_hex(a.payload)}};
  return j;
}

json GovernanceModule::proposal_json(const StateReader& s, uint64_t id,
                                     const ProposalRecord& p) const {
  json changes = json::array();
  for (const auto& a : p.actions) changes.push_back(action_json(a));
  json votes = json::array();  // current members' votes (a removed member's vote lapses)
  for (const auto& m : members(s))
    if (auto c = vote_of(s, id, m))
      votes.push_back({{"member", m.hex()}, {"choice", choice_name(*c)}});
  Tally t = tally(s, id);
  json j = {{"id", id},
            {"status", status_name(p.status)},
            {"proposer", p.proposer.hex()},
            {"changes", changes},
            {"votes", votes},
            {"tally", {{"yes", t.yes}, {"no", t.no}, {"abstain", t.abstain}}},
            {"threshold", threshold(s)},
            {"created_height", p.created_height},
            {"deadline", p.deadline_height},
            {"activate_at", p.activate_at ? json(*p.activate_at) : json(nullptr)},
            {"memo", p.memo},
            {"closed_height", p.closed_height ? json(p.closed_height) : json(nullptr)},
            {"executed_height", p.executed_height ? json(p.executed_height) : json(nullptr)}};
  if (p.status == ProposalStatus::kFailed)
    j["error"] = {{"code", p.error_code},
                  {"name", code_name(static_cast<Code>(p.error_code))},
                  {"message", p.error}};
  return j;
}

Result<json> GovernanceModule::query(const StateReader& s, std::string_view path,
                                     const json& params) const {
  if (path == "members")
    return json{{"members", keys_json(members(s))}, {"threshold", threshold(s)}};
  if (path == "validators") return json{{"validators", keys_json(validators(s))}};
  if (path == "proposals") {
    std::optional<std::string> status;
    if (params.is_object() && params.contains("status") && params["status"].is_string())
      status = params["status"].get<std::string>();
    size_t limit = static_cast<size_t>(
        std::min<uint64_t>(number(params, "limit").value_or(kMaxQueryResults), kMaxQueryResults));
    json out = json::array();
    each_proposal(s, [&](uint64_t id, const ProposalRecord& p) {
      if (out.size() >= limit) return false;
      if (!status || *status == status_name(p.status)) out.push_back(proposal_json(s, id, p));
      return true;
    });
    return out;
  }
  if (path.starts_with("proposals/")) {
    std::string_view rest = path.substr(10);
    uint64_t id = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), id);
    if (rest.empty() || ec != std::errc() || end != rest.data() + rest.size())
      return error(Code::kInvalidArgument, "a proposal id is a non-negative integer");
    auto p = proposal(s, id);
    if (!p) return error(kProposalNotFound, "no proposal " + std::to_string(id));
    return proposal_json(s, id, *p);
  }
  return error(Code::kNotFound, "no governance query " + std::string(path));
}

}  // namespace gridpact::governance
