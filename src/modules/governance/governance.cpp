#include "modules/governance/governance.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace gridpact::governance {

void encode_value(codec::Writer& w, const ProposalRecord& p) {
  codec::write_fields(w, p);
}
void decode_value(codec::Reader& r, ProposalRecord& p) {
  codec::read_fields(r, p);
}

namespace {

using state::Unit;
const state::Map<PublicKey, Unit> kMembers("governance/member/");
const state::Map<PublicKey, Unit> kValidators("governance/validator/");
const state::Sequence kNextId("governance/next_id");
const state::Map<uint64_t, ProposalRecord> kProposals("governance/proposal/");
const state::Map<std::pair<uint64_t, PublicKey>, uint64_t> kVotes("governance/vote/");
const state::Map<std::pair<uint64_t, uint64_t>, Unit> kDeadlines("governance/deadline/");
const state::Map<std::pair<uint64_t, uint64_t>, Unit> kActivations("governance/activate/");
const state::Map<std::pair<uint64_t, uint64_t>, Unit> kLog("governance/log/");
constexpr std::string_view kThreshold = "governance.threshold";
constexpr size_t kAll = std::numeric_limits<size_t>::max();
constexpr size_t kMaxError = 256;

Status bad_genesis(const std::string& what) {
  return error(Code::kBadGenesis, "[governance] " + what);
}

std::vector<PublicKey> keys_of(const state::Map<PublicKey, Unit>& map, const StateReader& s) {
  std::vector<PublicKey> out;
  map.each(s, kAll, [&](const PublicKey& k, Unit) {
    out.push_back(k);
    return true;
  });
  return out;
}

// A key list of the genesis section: 64-hex strings, distinct, at most kMaxMembers.
Result<std::vector<PublicKey>> key_list(const json& section, const char* name) {
  std::vector<PublicKey> out;
  if (!section.contains(name)) return out;
  if (!section[name].is_array() || section[name].size() > kMaxMembers)
    return bad_genesis(std::string(name) + " must be a list of at most " +
                       std::to_string(kMaxMembers) + " public keys");
  for (const auto& v : section[name]) {
    auto k = v.is_string() ? PublicKey::from_hex(v.get<std::string>()) : std::nullopt;
    if (!k) return bad_genesis(std::string(name) + " must be 64-hex-digit public keys");
    for (const auto& o : out)
      if (o == *k) return bad_genesis(std::string(name) + " lists " + k->hex() + " twice");
    out.push_back(*k);
  }
  return out;
}

// A parameter value given as text (a proposal's encoding), as the JSON the parameter
// registry checks: digits for integers, true/false, text, a key in hex or "" for unset.
Result<json> value_json(const ParamSpec& spec, const std::string& text) {
  auto bad = [&](const std::string& what) {
    return error(kBadParamValue, spec.name + " must be " + what + ", not \"" + text + "\"");
  };
  switch (spec.type) {
    case ParamType::kU64: {
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size())
        return bad("a non-negative integer");
      return json(n);
    }
    case ParamType::kBool:
      if (text == "true" || text == "false") return json(text == "true");
      return bad("true or false");
    case ParamType::kText:
      return json(text);
    case ParamType::kAccount:
      if (text.empty()) return json(nullptr);
      return json(text);
  }
  return bad("a known type");
}

std::string bounded(std::string s) {
  if (s.size() > kMaxError) s.resize(kMaxError);
  return s;
}

// Stateless: the shape of a proposal (the mempool runs it; deliver runs it again).
Status check_propose(const Transaction&, const ProposePayload& p) {
  if (p.actions.empty()) return error(kBadProposal, "a proposal needs at least one action");
  if (p.deadline_blocks == 0 || p.deadline_blocks > kMaxDeadlineBlocks)
    return error(kBadProposal, "deadline_blocks must be 1.." + std::to_string(kMaxDeadlineBlocks));
  for (const auto& a : p.actions) {
    if (a.name.empty()) return error(kBadProposal, "an action without a name");
    if (a.kind == ActionKind::kSetParam && !a.payload.empty())
      return error(kBadProposal, "a parameter change carries a value, not a payload");
    if (a.kind == ActionKind::kGoverned && !a.value.empty())
      return error(kBadProposal, "a governed action carries a payload, not a value");
  }
  return ok();
}

Status check_add_member(const StateReader& s, const MemberAction& a) {
  if (kMembers.has(s, a.member)) return error(kMemberExists, a.member.hex() + " is a member");
  return ok();
}
Status check_remove_member(const StateReader& s, const MemberAction& a) {
  if (!kMembers.has(s, a.member))
    return error(kMemberNotFound, a.member.hex() + " is not a member");
  return ok();
}
Status check_add_validator(const StateReader& s, const ValidatorAction& a) {
  if (kValidators.has(s, a.validator))
    return error(kValidatorExists, a.validator.hex() + " is a validator");
  return ok();
}
Status check_remove_validator(const StateReader& s, const ValidatorAction& a) {
  if (!kValidators.has(s, a.validator))
    return error(kValidatorNotFound, a.validator.hex() + " is not a validator");
  if (keys_of(kValidators, s).size() == 1)
    return error(kNoValidators, "the last validator cannot be removed");
  return ok();
}

}  // namespace

void register_governance_codes() {
  register_codes(kGovernanceCodes);
}

std::string_view action_kind_name(ActionKind k) {
  return k == ActionKind::kSetParam ? "set" : "action";
}
std::string_view choice_name(Choice c) {
  switch (c) {
    case Choice::kYes:
      return "yes";
    case Choice::kNo:
      return "no";
    case Choice::kAbstain:
      return "abstain";
  }
  return "?";
}
std::string_view status_name(ProposalStatus s) {
  switch (s) {
    case ProposalStatus::kOpen:
      return "open";
    case ProposalStatus::kPassed:
      return "passed";
    case ProposalStatus::kRejected:
      return "rejected";
    case ProposalStatus::kExpired:
      return "expired";
    case ProposalStatus::kFailed:
      return "failed";
  }
  return "?";
}

Action set_param(std::string name, std::string value) {
  return Action{ActionKind::kSetParam, std::move(name), std::move(value), {}};
}
Bytes encode(const ProposePayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const VotePayload& p) {
  return codec::encode_fields(p);
}

bool is_member(const StateReader& s, const PublicKey& k) {
  return kMembers.has(s, k);
}
std::vector<PublicKey> members(const StateReader& s) {
  return keys_of(kMembers, s);
}
std::vector<PublicKey> validators(const StateReader& s) {
  return keys_of(kValidators, s);
}
uint64_t threshold(const StateReader& s) {
  // 0 on a chain without governance (no section in its genesis): nobody is a member.
  return s.get(param_key(kThreshold)) ? read_u64_param(s, kThreshold) : 0;
}
std::optional<ProposalRecord> proposal(const StateReader& s, uint64_t id) {
  return kProposals.get(s, id);
}

Tally tally(const StateReader& s, uint64_t id) {
  Tally t;
  kVotes.each_with(
      s, kAll,
      [&](const std::pair<uint64_t, PublicKey>& k, uint64_t choice) {
        if (!kMembers.has(s, k.second)) return true;  // a removed member's vote lapses
        if (choice == static_cast<uint64_t>(Choice::kYes)) ++t.yes;
        if (choice == static_cast<uint64_t>(Choice::kNo)) ++t.no;
        if (choice == static_cast<uint64_t>(Choice::kAbstain)) ++t.abstain;
        return true;
      },
      id);
  return t;
}

std::optional<Choice> vote_of(const StateReader& s, uint64_t id, const PublicKey& member) {
  auto c = kVotes.get(s, {id, member});
  if (!c || *c < 1 || *c > 3) return std::nullopt;
  return static_cast<Choice>(*c);
}

std::vector<uint64_t> changed_in(const StateReader& s, uint64_t height) {
  std::vector<uint64_t> out;
  kLog.each_with(
      s, kAll,
      [&](const std::pair<uint64_t, uint64_t>& k, Unit) {
        out.push_back(k.second);
        return true;
      },
      height);
  return out;
}

void each_proposal(const StateReader& s,
                   const std::function<bool(uint64_t, const ProposalRecord&)>& fn) {
  kProposals.each(s, kAll, fn);
}

GovernanceModule::GovernanceModule() {
  register_governance_codes();
  message(kPropose, "governance/propose", &GovernanceModule::on_propose, {.check = check_propose});
  message(kVote, "governance/vote", &GovernanceModule::on_vote);
  governed("governance/add_member", &GovernanceModule::apply_add_member,
           {.check = check_add_member});
  governed("governance/remove_member", &GovernanceModule::apply_remove_member,
           {.check = check_remove_member});
  governed("governance/add_validator", &GovernanceModule::apply_add_validator,
           {.check = check_add_validator});
  governed("governance/remove_validator", &GovernanceModule::apply_remove_validator,
           {.check = check_remove_validator});
  event<ProposedEvent>();
  event<VotedEvent>();
  event<OutcomeEvent>();
  event<MembershipEvent>();
  declare_routes();
}

void GovernanceModule::attach(const std::vector<Module*>& modules) {
  modules_ = modules;
  registry_ = std::make_unique<ParamRegistry>(modules);
}

std::vector<ParamSpec> GovernanceModule::param_table() const {
  return {ParamSpec::u64(std::string(kThreshold), 1, 1, kMaxMembers,
                         "yes votes of members a proposal needs to pass")};
}

Status GovernanceModule::check_params(const StateReader& s) const {
  uint64_t n = members(s).size();
  if (threshold(s) > n)
    return error(kBelowThreshold, "threshold " + std::to_string(threshold(s)) + " is above the " +
                                      std::to_string(n) + " members");
  return ok();
}

std::vector<state::SchemaEntry> GovernanceModule::schema() const {
  return {{kMembers.prefix(), "<pk>", "Unit: a member"},
          {kValidators.prefix(), "<pk>", "Unit: a validator (cluster mode reads the set here)"},
          {kNextId.key(), "", "u64 sequence of proposal ids"},
          {kProposals.prefix(), "<u64 id>", "ProposalRecord"},
          {kVotes.prefix(), "<u64 id><pk>", "u64 choice (1 yes, 2 no, 3 abstain)"},
          {kDeadlines.prefix(), "<u64 h><u64 id>", "Unit: open proposals by deadline height"},
          {kActivations.prefix(), "<u64 h><u64 id>", "Unit: passed proposals waiting for height h"},
          {kLog.prefix(), "<u64 h><u64 id>", "Unit: the proposal changed in block h (the SQL"}};
}

std::string GovernanceModule::default_genesis(const DevelopmentAccounts& accounts) const {
  std::vector<PublicKey> m = accounts.members;
  if (m.empty()) m.push_back(accounts.issuer);
  std::string s = "[governance]\nmembers = [";
  for (size_t i = 0; i < m.size(); ++i) s += (i ? ", \"" : "\"") + m[i].hex() + "\"";
  s += "]\nthreshold = " + std::to_string(m.size() >= 3 ? 2 : 1) + "\n";
  if (accounts.validator != PublicKey{})
    s += "validators = [\"" + accounts.validator.hex() + "\"]\n";
  return s;
}

Status GovernanceModule::init_genesis(StateOverlay& s, const json& section) {
  if (!section.is_object()) return bad_genesis("must be a table");
  if (section.empty()) return ok();  // no governance on this chain: nothing is governed
  auto m = key_list(section, "members");
  if (!m) return m.status();
  if (m->empty()) return bad_genesis("members must name at least one member");
  auto v = key_list(section, "validators");
  if (!v) return v.status();
  for (const auto& k : *m) kMembers.put(s, k, {});
  for (const auto& k : *v) kValidators.put(s, k, {});
  if (Status st = init_params(s, param_table(), section); !st) return st;
  if (Status st = check_params(s); !st) return bad_genesis(st.message);
  return ok();
}

// ---- Governed actions of this module ----

Status GovernanceModule::apply_add_member(GovernedContext& ctx, const MemberAction& a) {
  kMembers.put(ctx.state, a.member, {});
  ctx.events.push_back(make_event(MembershipEvent{"add_member", a.member}));
  return ok();
}
Status GovernanceModule::apply_remove_member(GovernedContext& ctx, const MemberAction& a) {
  kMembers.erase(ctx.state, a.member);
  ctx.events.push_back(make_event(MembershipEvent{"remove_member", a.member}));
  return ok();
}
Status GovernanceModule::apply_add_validator(GovernedContext& ctx, const ValidatorAction& a) {
  kValidators.put(ctx.state, a.validator, {});
  ctx.events.push_back(make_event(MembershipEvent{"add_validator", a.validator}));
  return ok();
}
Status GovernanceModule::apply_remove_validator(GovernedContext& ctx, const ValidatorAction& a) {
  kValidators.erase(ctx.state, a.validator);
  ctx.events.push_back(make_event(MembershipEvent{"remove_validator", a.validator}));
  return ok();
}

// ---- Proposals ----

Status GovernanceModule::run_actions(const BlockInfo& block, uint64_t id,
                                     const std::vector<Action>& actions, StateOverlay& state,
                                     std::vector<Event>& events) {
  if (!registry_) return error(Code::kStorage, "governance is not attached to the chain");
  StateOverlay next(state);
  std::vector<Event> made;
  json changes = json::object();
  for (size_t i = 0; i < actions.size(); ++i) {
    const Action& a = actions[i];
    auto refused = [&](const Status& s) {
      return error(s.code, "action " + std::to_string(i + 1) + " (" + a.name + "): " + s.message);
    };
    if (a.kind == ActionKind::kSetParam) {
      const ParamSpec* spec = registry_->find(a.name);
      if (!spec) return refused(error(kUnknownParameter, "no such parameter"));
      if (changes.contains(a.name)) return refused(error(kBadProposal, "set twice"));
      auto v = value_json(*spec, a.value);
      if (!v) return refused(v.status());
      if (auto checked = registry_->validate(a.name, *v); !checked)
        return refused(error(kBadParamValue, checked.status().message));
      changes[a.name] = *v;
      continue;
    }
    Module* owner = nullptr;
    const GovernedTable::Entry* entry = nullptr;
    for (Module* m : modules_)
      if ((entry = m->governed_actions().find(a.name))) {
        owner = m;
        break;
      }
    if (!entry) return refused(error(kUnknownAction, "no such governed action"));
    GovernedContext ctx{block, id, next, made};
    if (Status s = entry->apply(*owner, ctx, a.payload); !s) return refused(s);
  }
  if (!changes.empty()) {
    if (Status s = registry_->apply(next, changes); !s) {
      if (s.code == Code::kNotFound) return error(kUnknownParameter, s.message);
      if (s.code == Code::kInvalidArgument) return error(kBadParamValue, s.message);
      return s;
    }
  }
  // What every change must leave: enough members to pass anything, within the bound.
  size_t n = members(next).size();
  if (n > kMaxMembers)
    return error(kTooManyMembers, "at most " + std::to_string(kMaxMembers) + " members");
  if (n < threshold(next))
    return error(kBelowThreshold, "would leave " + std::to_string(n) + " members for threshold " +
                                      std::to_string(threshold(next)));
  next.merge_into(state);
  events.insert(events.end(), made.begin(), made.end());
  return ok();
}

void GovernanceModule::execute(const BlockInfo& block, uint64_t id, ProposalRecord& p,
                               StateOverlay& state, std::vector<Event>& events) {
  const std::vector<PublicKey> members_before = members(state);
  const uint64_t threshold_before = threshold(state);
  Status s = run_actions(block, id, p.actions, state, events);
  if (s) {
    p.executed_height = block.height;
  } else {
    p.status = ProposalStatus::kFailed;
    p.error_code = static_cast<uint32_t>(s.code);
    p.error = bounded(s.message);
  }
  kProposals.put(state, id, p);
  kLog.put(state, {block.height, id}, {});
  events.push_back(
      make_event(OutcomeEvent{id, p.status, p.executed_height, p.error_code, p.error}));
  if (s && (members(state) != members_before || threshold(state) != threshold_before))
    retally_open(block, state, events);
}

bool GovernanceModule::decide(const BlockInfo& block, uint64_t id, ProposalRecord& r,
                              StateOverlay& state, std::vector<Event>& events) {
  const uint64_t h = block.height;
  Tally t = tally(state, id);
  const uint64_t need = threshold(state);
  const uint64_t counted = t.yes + t.no + t.abstain;
  const uint64_t n = members(state).size();
  const uint64_t undecided = n > counted ? n - counted : 0;
  if (t.yes >= need) {
    r.status = ProposalStatus::kPassed;
  } else if (t.yes + undecided < need) {
    r.status = ProposalStatus::kRejected;
  } else {
    return false;
  }
  r.closed_height = h;
  kDeadlines.erase(state, {r.deadline_height, id});
  kLog.put(state, {h, id}, {});
  if (r.status == ProposalStatus::kPassed && (!r.activate_at || *r.activate_at <= h)) {
    execute(block, id, r, state, events);
    return true;
  }
  if (r.status == ProposalStatus::kPassed) kActivations.put(state, {*r.activate_at, id}, {});
  kProposals.put(state, id, r);
  events.push_back(make_event(OutcomeEvent{id, r.status, 0, 0, ""}));
  return true;
}

void GovernanceModule::retally_open(const BlockInfo& block, StateOverlay& state,
                                    std::vector<Event>& events) {
  // The open proposals in id order; each decided against the state the previous left (a
  // proposal passed here may change the members again: its own execution re-tallies, and
  // the closed ones are skipped).
  std::vector<uint64_t> open;
  kDeadlines.each(state, kAll, [&](const std::pair<uint64_t, uint64_t>& k, Unit) {
    open.push_back(k.second);
    return true;
  });
  std::sort(open.begin(), open.end());
  for (uint64_t id : open) {
    auto r = proposal(state, id);
    if (!r || r->status != ProposalStatus::kOpen || block.height > r->deadline_height) continue;
    decide(block, id, *r, state, events);
  }
}

Status GovernanceModule::on_propose(TxContext& ctx, const ProposePayload& p) {
  const uint64_t h = ctx.block.height;
  if (!is_member(ctx.state, ctx.tx.sender))
    return error(kNotMember, ctx.tx.sender.hex() + " is not a governance member");
  if (p.activate_at && (*p.activate_at < h || *p.activate_at - h > kMaxActivationDelay))
    return error(kBadProposal, "activate_at must be a height from " + std::to_string(h) + " to " +
                                   std::to_string(h + kMaxActivationDelay));
  const uint64_t id = kNextId.peek(ctx.state);
  {  // The dry run: every action checked and applied on a scratch copy, then dropped.
    StateOverlay scratch(ctx.state);
    std::vector<Event> dropped;
    if (Status s = run_actions(ctx.block, id, p.actions, scratch, dropped); !s) return s;
  }
  kNextId.next(ctx.state);
  ProposalRecord r;
  r.proposer = ctx.tx.sender;
  r.actions = p.actions;
  r.created_height = h;
  r.deadline_height = h + p.deadline_blocks;
  r.activate_at = p.activate_at;
  r.memo = p.memo;
  kProposals.put(ctx.state, id, r);
  kDeadlines.put(ctx.state, {r.deadline_height, id}, {});
  kLog.put(ctx.state, {h, id}, {});
  ctx.events.push_back(make_event(
      ProposedEvent{id, r.proposer, r.deadline_height, static_cast<uint32_t>(r.actions.size())}));
  return ok();
}

Status GovernanceModule::on_vote(TxContext& ctx, const VotePayload& p) {
  const uint64_t h = ctx.block.height;
  if (!is_member(ctx.state, ctx.tx.sender))
    return error(kNotMember, ctx.tx.sender.hex() + " is not a governance member");
  auto r = proposal(ctx.state, p.proposal);
  if (!r) return error(kProposalNotFound, "no proposal " + std::to_string(p.proposal));
  if (r->status != ProposalStatus::kOpen || h > r->deadline_height)
    return error(kProposalClosed, "proposal " + std::to_string(p.proposal) + " is " +
                                      std::string(status_name(r->status)) + " (deadline " +
                                      std::to_string(r->deadline_height) + ")");
  const std::pair<uint64_t, PublicKey> key{p.proposal, ctx.tx.sender};
  if (kVotes.get(ctx.state, key) == static_cast<uint64_t>(p.choice))
    return error(kDuplicateVote, "already voted " + std::string(choice_name(p.choice)));
  kVotes.put(ctx.state, key, static_cast<uint64_t>(p.choice));
  kLog.put(ctx.state, {h, p.proposal}, {});
  Tally t = tally(ctx.state, p.proposal);
  ctx.events.push_back(
      make_event(VotedEvent{p.proposal, ctx.tx.sender, p.choice, t.yes, t.no, t.abstain}));
  decide(ctx.block, p.proposal, *r, ctx.state, ctx.events);
  return ok();
}

void GovernanceModule::end_block(BlockContext& ctx) {
  const uint64_t h = ctx.block.height;
  auto due = [&](const state::Map<std::pair<uint64_t, uint64_t>, Unit>& index) {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    index.each(ctx.state, kAll, [&](const std::pair<uint64_t, uint64_t>& k, Unit) {
      if (k.first > h) return false;
      out.push_back(k);
      return true;
    });
    for (const auto& k : out) index.erase(ctx.state, k);
    return out;
  };
  for (const auto& [at, id] : due(kActivations)) {
    auto r = proposal(ctx.state, id);
    if (r) execute(ctx.block, id, *r, ctx.state, ctx.events);
  }
  for (const auto& [deadline, id] : due(kDeadlines)) {
    auto r = proposal(ctx.state, id);
    if (!r || r->status != ProposalStatus::kOpen) continue;
    r->status = ProposalStatus::kExpired;
    r->closed_height = h;
    kProposals.put(ctx.state, id, *r);
    kLog.put(ctx.state, {h, id}, {});
    ctx.events.push_back(make_event(OutcomeEvent{id, r->status, 0, 0, ""}));
  }
}

}  // namespace gridpact::governance
