// The governance module's queries: proposals with their changes and votes, members,
// validators.
#include "modules/governance/governance.hpp"

namespace gridpact::governance {
namespace {

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

void GovernanceModule::declare_routes() {
  using T = RouteParam::Type;
  route("/members", "the members and the threshold", {},
        [](const StateReader& s, const QueryArgs&) -> Result<json> {
          return json{{"members", keys_json(members(s))}, {"threshold", threshold(s)}};
        });
  route("/validators", "the validator set", {},
        [](const StateReader& s, const QueryArgs&) -> Result<json> {
          return json{{"validators", keys_json(validators(s))}};
        });
  route("/proposals", "proposals, oldest first, with their changes and votes",
        {{"status", T::kText, "open, passed, rejected, expired or failed", false, 16},
         {"limit", T::kU64, "at most this many", false, kMaxQueryResults}},
        [this](const StateReader& s, const QueryArgs& q) -> Result<json> {
          auto status = q.text("status");
          const uint64_t limit = q.u64("limit").value_or(kMaxQueryResults);
          json out = json::array();
          each_proposal(s, [&](uint64_t id, const ProposalRecord& p) {
            if (out.size() >= limit) return false;
            if (!status || *status == status_name(p.status)) out.push_back(proposal_json(s, id, p));
            return true;
          });
          return out;
        });
  route("/proposals/{id}", "one proposal with its changes, votes and outcome",
        {{"id", T::kU64, "the proposal id"}},
        [this](const StateReader& s, const QueryArgs& q) -> Result<json> {
          const uint64_t id = *q.u64("id");
          auto p = proposal(s, id);
          if (!p) return error(kProposalNotFound, "no proposal " + std::to_string(id));
          return proposal_json(s, id, *p);
        });
}

}  // namespace gridpact::governance
