// The governance module: the consortium (operator, grid operator, regulator, ...) changes
// what no single key may change, by proposals its members vote on.
//
// Members and a threshold are set in genesis ([governance] members = [...], threshold = 2).
// A member proposes a list of actions, each one of:
//   - a parameter of any module: name and value, checked by the module's parameter table
//     (ParamRegistry, ledger/params.hpp) when proposed and applied through it;
//   - a governed action of any module (Module::governed_actions, ledger/module.hpp), e.g.
//     meters/add_root, governance/add_member, governance/add_validator.
// Submitting a proposal dry-runs all its actions on a scratch copy of state (any refusal
// refuses the proposal) and checks that it would leave at least `threshold` members and
// one validator. Proposing is not a vote.
//
// Votes: yes, no or abstain, one per member, changeable while the proposal is open. Only
// current members' votes count. A proposal
//   passes    when its yes votes reach the threshold: it executes in that transaction, or
//             in end_block at its activation height if that is later;
//   is rejected once it can no longer pass: yes votes + members who have not voted <
//             threshold;
//   expires   at the end of its deadline block (created height + deadline_blocks) if open;
//   fails     when an action is refused at execution: nothing of it is applied and the
//             refusal's code is recorded (status "failed").
// When an executed proposal changes the members or the threshold, every open proposal is
// decided again in that transaction (or end-of-block), with the same rules.
// Every outcome is a typed event in the receipt of the vote (or of the end-of-block).
// Execution order: governed actions in the proposal's order, then all parameter changes
// at once (one ParamRegistry::apply, so rules across parameters see them together), then
// the member/threshold/validator invariant.
//
// Transactions:
//   0x0501 governance/propose  ProposePayload   members only
//   0x0502 governance/vote     VotePayload      members only
// Governed actions (payloads below): governance/add_member, governance/remove_member,
// governance/add_validator, governance/remove_validator. The threshold is the parameter
// governance.threshold (at most the number of members).
//
// State keys (numbers big-endian):
//   governance/member/<pk>             Unit: a member
//   governance/validator/<pk>          Unit: a validator (cluster mode reads the set here)
//   governance/next_id                 u64 sequence of proposal ids
//   governance/proposal/<u64 id>       ProposalRecord
//   governance/vote/<u64 id><pk>       u64 choice (1 yes, 2 no, 3 abstain)
//   governance/deadline/<u64 h><u64 id>  Unit: open proposals by deadline height
//   governance/activate/<u64 h><u64 id>  Unit: passed proposals waiting for height h
//   governance/log/<u64 h><u64 id>       Unit: the proposal changed in block h (the SQL
//                                        read model follows this log)
//
#pragma once

#include <tuple>

#include "ledger/module.hpp"

namespace gridpact::governance {

constexpr uint16_t kPropose = 0x0501;
constexpr uint16_t kVote = 0x0502;

constexpr size_t kMaxActions = 16;
constexpr size_t kMaxActionName = 96;
constexpr size_t kMaxParamValue = 80;       // the value as text; kMaxParamText bounds text values
constexpr size_t kMaxActionPayload = 8192;  // a DER root certificate is at most 4096 bytes
constexpr size_t kMaxMemo = 256;
constexpr uint64_t kMaxDeadlineBlocks = 10'000'000;
constexpr uint64_t kMaxActivationDelay = 10'000'000;  // blocks after the proposal
constexpr size_t kMaxMembers = 64;
constexpr size_t kMaxQueryResults = 1000;

// Error codes: X(constant, number, name, meaning).
#define GRIDPACT_GOVERNANCE_CODES(X)                                                             \
  X(kNotMember, 1600, "NOT_MEMBER", "only a governance member may propose or vote")              \
  X(kProposalNotFound, 1601, "PROPOSAL_NOT_FOUND", "no proposal has that id")                    \
  X(kProposalClosed, 1602, "PROPOSAL_CLOSED",                                                    \
    "the proposal is no longer open for votes (passed, rejected, expired or past its deadline)") \
  X(kDuplicateVote, 1603, "DUPLICATE_VOTE", "the member already voted that way")                 \
  X(kUnknownParameter, 1604, "UNKNOWN_PARAMETER", "no module declares that parameter")           \
  X(kBadParamValue, 1605, "BAD_PARAM_VALUE",                                                     \
    "a parameter value is of the wrong type, out of range, or refused by its module")            \
  X(kBelowThreshold, 1606, "MEMBERS_BELOW_THRESHOLD",                                            \
    "the change would leave fewer members than the threshold")                                   \
  X(kBadProposal, 1607, "BAD_PROPOSAL",                                                          \
    "a proposal without actions, with a bad deadline or activation height, or a repeated "       \
    "parameter")                                                                                 \
  X(kUnknownAction, 1608, "UNKNOWN_ACTION", "no module declares that governed action")           \
  X(kMemberExists, 1609, "MEMBER_EXISTS", "the account is already a member")                     \
  X(kMemberNotFound, 1610, "MEMBER_NOT_FOUND", "the account is not a member")                    \
  X(kValidatorExists, 1611, "VALIDATOR_EXISTS", "the key is already a validator")                \
  X(kValidatorNotFound, 1612, "VALIDATOR_NOT_FOUND", "the key is not a validator")               \
  X(kNoValidators, 1613, "NO_VALIDATORS", "the change would leave no validator")                 \
  X(kTooManyMembers, 1614, "TOO_MANY_MEMBERS", "the change would pass the members' bound")
GRIDPACT_CODES(kGovernanceCodes, "governance", 1600, GRIDPACT_GOVERNANCE_CODES);
void register_governance_codes();

// ---- Payloads ----

enum class ActionKind : uint8_t { kSetParam = 1, kGoverned = 2 };
std::string_view action_kind_name(ActionKind k);

// One change of a proposal. kSetParam: `name` is a parameter ("market.retail_tariff"),
// `value` its value as text (an integer in decimal, true/false, the text, a public key in
// hex or "" for unset). kGoverned: `name` is a governed action ("meters/add_root"),
// `payload` its payload's canonical encoding.
struct Action {
  ActionKind kind = ActionKind::kSetParam;
  std::string name;
  std::string value;
  Bytes payload;
  static constexpr auto fields =
      std::tuple{codec::field("kind", &Action::kind,
                              codec::range(ActionKind::kSetParam, ActionKind::kGoverned),
                              codec::names(action_kind_name)),
                 codec::field("name", &Action::name, codec::max_len(kMaxActionName)),
                 codec::field("value", &Action::value, codec::max_len(kMaxParamValue)),
                 codec::field("payload", &Action::payload, codec::max_len(kMaxActionPayload))};
};
Action set_param(std::string name, std::string value);
template <codec::Described P>
Action governed_action(std::string name, const P& payload) {
  return Action{ActionKind::kGoverned, std::move(name), "", codec::encode_fields(payload)};
}

struct ProposePayload {
  std::vector<Action> actions;
  uint64_t deadline_blocks = 0;
  std::optional<uint64_t> activate_at;  // a block height; none: at once when passed
  std::string memo;
  static constexpr auto fields =
      std::tuple{codec::field("actions", &ProposePayload::actions, codec::max_len(kMaxActions)),
                 codec::field("deadline_blocks", &ProposePayload::deadline_blocks),
                 codec::field("activate_at", &ProposePayload::activate_at),
                 codec::field("memo", &ProposePayload::memo, codec::max_len(kMaxMemo))};
};

enum class Choice : uint8_t { kYes = 1, kNo = 2, kAbstain = 3 };
std::string_view choice_name(Choice c);

struct VotePayload {
  uint64_t proposal = 0;
  Choice choice = Choice::kYes;
  static constexpr auto fields = std::tuple{
      codec::field("proposal", &VotePayload::proposal),
      codec::field("choice", &VotePayload::choice, codec::range(Choice::kYes, Choice::kAbstain),
                   codec::names(choice_name))};
};

// Governed actions of this module.
struct MemberAction {
  PublicKey member;
  static constexpr auto fields = std::tuple{codec::field("member", &MemberAction::member)};
};
struct ValidatorAction {
  PublicKey validator;
  static constexpr auto fields = std::tuple{codec::field("validator", &ValidatorAction::validator)};
};

Bytes encode(const ProposePayload& p);
Bytes encode(const VotePayload& p);

// ---- State ----

enum class ProposalStatus : uint8_t {
  kOpen = 1,
  kPassed = 2,  // yes votes reached the threshold; executed, or waiting for activate_at
  kRejected = 3,
  kExpired = 4,
  kFailed = 5,  // passed, but an action was refused at execution: nothing applied
};
std::string_view status_name(ProposalStatus s);

struct ProposalRecord {
  PublicKey proposer;
  std::vector<Action> actions;
  uint64_t created_height = 0;
  uint64_t deadline_height = 0;  // votes are taken up to and including this block
  std::optional<uint64_t> activate_at;
  std::string memo;
  ProposalStatus status = ProposalStatus::kOpen;
  uint64_t closed_height = 0;    // when it passed, was rejected or expired
  uint64_t executed_height = 0;  // 0: not executed (yet)
  uint32_t error_code = 0;       // kFailed: the refusal's code
  std::string error;             // and its message
  static constexpr auto fields =
      std::tuple{codec::field("proposer", &ProposalRecord::proposer),
                 codec::field("actions", &ProposalRecord::actions, codec::max_len(kMaxActions)),
                 codec::field("created_height", &ProposalRecord::created_height),
                 codec::field("deadline_height", &ProposalRecord::deadline_height),
                 codec::field("activate_at", &ProposalRecord::activate_at),
                 codec::field("memo", &ProposalRecord::memo, codec::max_len(kMaxMemo)),
                 codec::field("status", &ProposalRecord::status,
                              codec::range(ProposalStatus::kOpen, ProposalStatus::kFailed),
                              codec::names(status_name)),
                 codec::field("closed_height", &ProposalRecord::closed_height),
                 codec::field("executed_height", &ProposalRecord::executed_height),
                 codec::field("error_code", &ProposalRecord::error_code),
                 codec::field("error", &ProposalRecord::error, codec::max_len(256))};
};

// ---- Events ----

struct ProposedEvent {
  static constexpr std::string_view kType = "governance/proposed";
  uint64_t proposal = 0;
  PublicKey proposer;
  uint64_t deadline_height = 0;
  uint32_t actions = 0;
  static constexpr auto fields =
      std::tuple{codec::field("proposal", &ProposedEvent::proposal),
                 codec::field("proposer", &ProposedEvent::proposer),
                 codec::field("deadline_height", &ProposedEvent::deadline_height),
                 codec::field("actions", &ProposedEvent::actions)};
};
struct VotedEvent {
  static constexpr std::string_view kType = "governance/voted";
  uint64_t proposal = 0;
  PublicKey voter;
  Choice choice = Choice::kYes;
  uint32_t yes = 0, no = 0, abstain = 0;  // the tally after this vote
  static constexpr auto fields = std::tuple{
      codec::field("proposal", &VotedEvent::proposal),
      codec::field("voter", &VotedEvent::voter),
      codec::field("choice", &VotedEvent::choice, codec::range(Choice::kYes, Choice::kAbstain),
                   codec::names(choice_name)),
      codec::field("yes", &VotedEvent::yes),
      codec::field("no", &VotedEvent::no),
      codec::field("abstain", &VotedEvent::abstain)};
};
// A proposal's outcome: passed (then executed: executed_height set, or waiting for its
// activation height), rejected, expired, or failed (code and message of the refusal).
struct OutcomeEvent {
  static constexpr std::string_view kType = "governance/outcome";
  uint64_t proposal = 0;
  ProposalStatus status = ProposalStatus::kPassed;
  uint64_t executed_height = 0;
  uint32_t error_code = 0;
  std::string error;
  static constexpr auto fields =
      std::tuple{codec::field("proposal", &OutcomeEvent::proposal),
                 codec::field("status", &OutcomeEvent::status,
                              codec::range(ProposalStatus::kOpen, ProposalStatus::kFailed),
                              codec::names(status_name)),
                 codec::field("executed_height", &OutcomeEvent::executed_height),
                 codec::field("error_code", &OutcomeEvent::error_code),
                 codec::field("error", &OutcomeEvent::error, codec::max_len(256))};
};
struct MembershipEvent {
  static constexpr std::string_view kType = "governance/membership";
  std::string change;  // add_member, remove_member, add_validator, remove_validator
  PublicKey key;
  static constexpr auto fields =
      std::tuple{codec::field("change", &MembershipEvent::change, codec::max_len(32)),
                 codec::field("key", &MembershipEvent::key)};
};

// ---- Reads ----

bool is_member(const StateReader& s, const PublicKey& k);
std::vector<PublicKey> members(const StateReader& s);
std::vector<PublicKey> validators(const StateReader& s);
uint64_t threshold(const StateReader& s);
std::optional<ProposalRecord> proposal(const StateReader& s, uint64_t id);
struct Tally {
  uint32_t yes = 0, no = 0, abstain = 0;
};
// Votes of current members only.
Tally tally(const StateReader& s, uint64_t id);
std::optional<Choice> vote_of(const StateReader& s, uint64_t id, const PublicKey& member);
// The proposals created, voted on or closed in block `height`, in id order.
std::vector<uint64_t> changed_in(const StateReader& s, uint64_t height);
// Visits the proposals in id order while `fn` returns true.
void each_proposal(const StateReader& s,
                   const std::function<bool(uint64_t, const ProposalRecord&)>& fn);

class GovernanceModule : public Module {
 public:
  GovernanceModule();
  std::string_view name() const override { return "governance"; }
  // [governance] members = ["<64 hex>", ...], threshold = N, validators = ["<64 hex>", ...].
  // No section: a chain without governance (no members; every proposal is refused).
  Status init_genesis(StateOverlay& state, const json& section) override;
  std::string default_genesis(const DevelopmentAccounts& accounts) const override;
  void attach(const std::vector<Module*>& modules) override;
  void end_block(BlockContext& ctx) override;
  std::vector<ParamSpec> param_table() const override;
  Status check_params(const StateReader& state) const override;
  std::vector<state::SchemaEntry> schema() const override;

  // The JSON of a proposal as the API shows it: id, status, changes, votes, deadline, ...
  json proposal_json(const StateReader& s, uint64_t id, const ProposalRecord& p) const;

 private:
  // Query routes: proposals[?status=open&limit=N], proposals/{id}, members, validators.
  void declare_routes();
  Status on_propose(TxContext& ctx, const ProposePayload& p);
  Status on_vote(TxContext& ctx, const VotePayload& p);
  Status apply_add_member(GovernedContext& ctx, const MemberAction& a);
  Status apply_remove_member(GovernedContext& ctx, const MemberAction& a);
  Status apply_add_validator(GovernedContext& ctx, const ValidatorAction& a);
  Status apply_remove_validator(GovernedContext& ctx, const ValidatorAction& a);

  // Runs every action of `actions` on `state` (a scratch or the executing overlay), then
  // checks the invariants. Writes nothing to `state` when it fails.
  Status run_actions(const BlockInfo& block, uint64_t id, const std::vector<Action>& actions,
                     StateOverlay& state, std::vector<Event>& events);
  // Executes a passed proposal: its actions, then its record (executed or failed).
  void execute(const BlockInfo& block, uint64_t id, ProposalRecord& p, StateOverlay& state,
               std::vector<Event>& events);
  // Decides an open proposal from its current tally: passes it (and executes it, or queues
  // it for its activation height), rejects it, or leaves it open (returns false).
  bool decide(const BlockInfo& block, uint64_t id, ProposalRecord& r, StateOverlay& state,
              std::vector<Event>& events);
  // After the members or the threshold changed: every open proposal decided again in the
  // same block (a removed member's vote lapses; a lower threshold may pass one).
  void retally_open(const BlockInfo& block, StateOverlay& state, std::vector<Event>& events);
  json action_json(const Action& a) const;

  std::vector<Module*> modules_;
  std::unique_ptr<ParamRegistry> registry_;
};

}  // namespace gridpact::governance
