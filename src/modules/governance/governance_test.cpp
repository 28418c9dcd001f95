// The governance module on a real chain with the real bank, meters and market modules:
// proposals, votes, every outcome and every refusal.
#include "modules/governance/governance.hpp"

#include <gtest/gtest.h>

#include "attest/codes.hpp"
#include "ledger/testing.hpp"
#include "modules/bank/bank.hpp"
#include "modules/market/market.hpp"
#include "modules/market/records.hpp"
#include "modules/meters/meters.hpp"
#include "modules/meters/testing.hpp"

namespace gridpact::governance {
namespace {

uint16_t code(Code c) {
  return static_cast<uint16_t>(c);
}

template <typename E>
std::optional<E> find_event(const Receipt& r) {
  for (const auto& e : r.events)
    if (e.type == E::kType) return codec::decode_fields<E>(e.data).value();
  return std::nullopt;
}

struct GovernanceTest : ::testing::Test {
  KeyPair a = KeyPair::generate(), b = KeyPair::generate(), c = KeyPair::generate();
  KeyPair outsider = KeyPair::generate(), validator = KeyPair::generate();
  KeyPair operator_key = KeyPair::generate();
  bank::BankModule bank_module;
  meters::MetersModule meters_module;
  market::MarketModule market_module;
  GovernanceModule gov;
  std::unique_ptr<testing::Chain> chain;

  json genesis() const {
    return {{"bank", {{"issuer", a.public_key().hex()}}},
            {"meters", {{"period_ms", 900'000}, {"allow_virtual", true}}},
            {"market", {{"operator", operator_key.public_key().hex()}, {"retail_tariff", 300'000}}},
            {"governance",
             {{"members", {a.public_key().hex(), b.public_key().hex(), c.public_key().hex()}},
              {"threshold", 2},
              {"validators", {validator.public_key().hex()}}}}};
  }
  void SetUp() override {
    chain = std::make_unique<testing::Chain>(
        std::vector<Module*>{&bank_module, &meters_module, &market_module, &gov}, genesis());
  }

  Receipt propose(const KeyPair& k, std::vector<Action> actions, uint64_t deadline = 10,
                  std::optional<uint64_t> activate_at = std::nullopt, std::string memo = "") {
    return chain->one(
        k, kPropose,
        encode(ProposePayload{std::move(actions), deadline, activate_at, std::move(memo)}));
  }
  Receipt vote(const KeyPair& k, uint64_t id, Choice choice) {
    return chain->one(k, kVote, encode(VotePayload{id, choice}));
  }
  uint64_t tariff() { return read_u64_param(chain->store(), "market.retail_tariff"); }
  json query(const std::string& path, json params = json::object()) {
    auto r = gov.query(chain->store(), path, params);
    if (!r) throw Error(r.status());
    return *r;
  }
  uint64_t height() { return *chain->store().height(); }
};

TEST_F(GovernanceTest, GenesisMembersThresholdAndValidators) {
  EXPECT_EQ(members(chain->store()).size(), 3u);
  EXPECT_EQ(threshold(chain->store()), 2u);
  EXPECT_EQ(query("members")["threshold"], 2);
  EXPECT_EQ(query("validators")["validators"], json::array({validator.public_key().hex()}));
  EXPECT_EQ(query("proposals"), json::array());
}

TEST_F(GovernanceTest, ATariffChangedByTwoOfThreeIsInForce) {
  auto r = propose(a, {set_param("market.retail_tariff", "410000")}, 10, std::nullopt, "winter");
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_TRUE(find_event<ProposedEvent>(r));
  EXPECT_EQ(find_event<ProposedEvent>(r)->proposal, 0u);
  EXPECT_EQ(query("proposals/0")["status"], "open");
  EXPECT_EQ(query("proposals/0")["votes"], json::array());  // proposing is not a vote
  ASSERT_TRUE(vote(a, 0, Choice::kYes).ok());
  EXPECT_EQ(tariff(), 300'000u);  // one yes is not enough
  auto passed = vote(b, 0, Choice::kYes);
  ASSERT_TRUE(passed.ok()) << passed.message;
  auto outcome = find_event<OutcomeEvent>(passed);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->status, ProposalStatus::kPassed);
  EXPECT_EQ(outcome->executed_height, height());
  EXPECT_EQ(tariff(), 410'000u);
  EXPECT_EQ((*market_module.query(chain->store(), "params", json::object()))["retail_tariff"],
            410'000);
  json p = query("proposals/0");
  EXPECT_EQ(p["status"], "passed");
  EXPECT_EQ(p["changes"], json::parse(R"([{"set":"market.retail_tariff","value":410000}])"));
  EXPECT_EQ(p["votes"].size(), 2u);
  EXPECT_EQ(p["memo"], "winter");
  // Closed: a third vote is refused.
  EXPECT_EQ(vote(c, 0, Choice::kYes).code, code(kProposalClosed));
}

TEST_F(GovernanceTest, VotesChangeUntilCloseAndDoubleVotesAreRefused) {
  ASSERT_TRUE(propose(a, {set_param("market.feed_in_tariff", "90000")}).ok());
  ASSERT_TRUE(vote(a, 0, Choice::kNo).ok());
  EXPECT_EQ(vote(a, 0, Choice::kNo).code, code(kDuplicateVote));
  ASSERT_TRUE(vote(a, 0, Choice::kYes).ok());  // changed its mind
  ASSERT_TRUE(vote(b, 0, Choice::kAbstain).ok());
  EXPECT_EQ(query("proposals/0")["status"], "open");  // c may still make it pass
  ASSERT_TRUE(vote(c, 0, Choice::kYes).ok());
  EXPECT_EQ(query("proposals/0")["status"], "passed");
  EXPECT_EQ(read_u64_param(chain->store(), "market.feed_in_tariff"), 90'000u);
}

TEST_F(GovernanceTest, RejectedOnceItCanNoLongerPass) {
  ASSERT_TRUE(propose(a, {set_param("market.retail_tariff", "1")}).ok());
  ASSERT_TRUE(vote(b, 0, Choice::kNo).ok());
  auto r = vote(c, 0, Choice::kAbstain);  // yes 0 + undecided 1 < 2
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(find_event<OutcomeEvent>(r));
  EXPECT_EQ(find_event<OutcomeEvent>(r)->status, ProposalStatus::kRejected);
  EXPECT_EQ(query("proposals/0")["status"], "rejected");
  EXPECT_EQ(vote(a, 0, Choice::kYes).code, code(kProposalClosed));
  EXPECT_EQ(tariff(), 300'000u);
}

std::vector<OutcomeEvent> outcomes(const Receipt& r) {
  std::vector<OutcomeEvent> out;
  for (const auto& e : r.events)
    if (e.type == OutcomeEvent::kType)
      out.push_back(codec::decode_fields<OutcomeEvent>(e.data).value());
  return out;
}

TEST_F(GovernanceTest, ARemovedMemberClosesOpenProposalsInThatBlock) {
  ASSERT_TRUE(propose(a, {set_param("market.retail_tariff", "410000")}).ok());
  ASSERT_TRUE(vote(a, 0, Choice::kYes).ok());
  ASSERT_TRUE(vote(b, 0, Choice::kNo).ok());  // yes 1 + undecided 1 (c): still open
  ASSERT_TRUE(
      propose(a, {governed_action("governance/remove_member", MemberAction{c.public_key()})}).ok());
  ASSERT_TRUE(vote(a, 1, Choice::kYes).ok());
  auto r = vote(b, 1, Choice::kYes);
  ASSERT_TRUE(r.ok()) << r.message;
  // Proposal 1 passes and removes c; proposal 0 can no longer pass (yes 1 + undecided 0 <
  // 2) and is rejected in the same receipt, not at a next vote.
  auto out = outcomes(r);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].proposal, 1u);
  EXPECT_EQ(out[0].status, ProposalStatus::kPassed);
  EXPECT_EQ(out[1].proposal, 0u);
  EXPECT_EQ(out[1].status, ProposalStatus::kRejected);
  EXPECT_EQ(query("proposals/0")["status"], "rejected");
  EXPECT_EQ(query("proposals/0")["closed_height"], height());
  EXPECT_EQ(tariff(), 300'000u);
}

TEST_F(GovernanceTest, ALowerThresholdPassesOpenProposalsInThatBlock) {
  ASSERT_TRUE(propose(a, {set_param("market.retail_tariff", "410000")}).ok());
  ASSERT_TRUE(vote(a, 0, Choice::kYes).ok());
  ASSERT_TRUE(propose(b, {set_param("governance.threshold", "1")}).ok());
  ASSERT_TRUE(vote(b, 1, Choice::kYes).ok());
  EXPECT_EQ(query("proposals/0")["status"], "open");
  auto r = vote(c, 1, Choice::kYes);
  ASSERT_TRUE(r.ok()) << r.message;
  auto out = outcomes(r);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].proposal, 0u);
  EXPECT_EQ(out[1].status, ProposalStatus::kPassed);
  EXPECT_EQ(out[1].executed_height, height());
  EXPECT_EQ(tariff(), 410'000u);
}

// Nothing frozen at genesis: the period length, the virtual-meter policy and the market's
// zone fee matrix and commodities change by proposal.
TEST_F(GovernanceTest, ThePeriodLengthChangesAtTheNextPeriodBoundary) {
  ASSERT_TRUE(propose(a, {set_param("meters.period_ms", "300000")}).ok());
  ASSERT_TRUE(vote(a, 0, Choice::kYes).ok());
  ASSERT_TRUE(vote(b, 0, Choice::kYes).ok());
  const StateReader& s = chain->store();
  ASSERT_LT(chain->store().header(height())->time_ms, 900'000u);  // in period 0
  EXPECT_EQ(read_u64_param(s, "meters.period_ms"), 300'000u);
  // Period 0 keeps its 15 minutes; period 1 starts the 5-minute periods.
  auto g = meters::PeriodSchedule(s).segments();
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[1].first_period, 1u);
  EXPECT_EQ(g[1].start_ms, 900'000u);
  EXPECT_EQ(g[1].period_ms, 300'000u);
  EXPECT_EQ(meters::period_at(s, 899'999), 0u);
  EXPECT_EQ(meters::period_at(s, 900'000), 1u);
  EXPECT_EQ(meters::period_at(s, 1'200'000), 2u);
  EXPECT_EQ(meters::period_start_ms(s, 3), 1'500'000u);
  EXPECT_EQ(meters::period_end_ms(s, 0), 900'000u);
  // The next periods use it: a reading for period 2 is on time at 1,200,000 ms (under
  // 15-minute periods it would be in the future), one for period 3 is not yet.
  KeyPair meter = KeyPair::generate();
  meters::RegisterPayload fields;
  fields.microgrid = "mg";
  ASSERT_TRUE(
      chain
          ->one(c, meters::kRegister,
                meters::encode(meters::virtual_registration(meter, c.public_key(), "test", fields)))
          .ok());
  auto early =
      chain->one(c, meters::kReading,
                 meters::encode(meters::virtual_reading(meter, "test", 3, 1, 0, 10)), 1'200'500);
  EXPECT_EQ(early.code, code(meters::kPeriodInFuture));
  EXPECT_TRUE(chain
                  ->one(c, meters::kReading,
                        meters::encode(meters::virtual_reading(meter, "test", 2, 2, 0, 10)),
                        1'201'000)
                  .ok());
  // Out of range: refused when proposed.
  EXPECT_EQ(propose(a, {set_param("meters.period_ms", "999")}).code, code(kBadParamValue));
}

TEST_F(GovernanceTest, TheVirtualMeterPolicyAndFirmwarePcrChangeByProposal) {
  ASSERT_TRUE(propose(a, {set_param("meters.allow_virtual", "false"),
                          set_param("meters.firmware_pcr", "17")})
                  .ok());
  ASSERT_TRUE(vote(a, 0, Choice::kYes).ok());
  ASSERT_TRUE(vote(c, 0, Choice::kYes).ok());
  EXPECT_FALSE(meters::params(chain->store()).allow_virtual);
  EXPECT_EQ(meters::params(chain->store()).firmware_pcr, 17);
  KeyPair meter = KeyPair::generate();
  meters::RegisterPayload fields;
  fields.microgrid = "mg";
  EXPECT_EQ(
      chain
          ->one(b, meters::kRegister,
                meters::encode(meters::virtual_registration(meter, b.public_key(), "test", fields)))
          .code,
      code(attest::kVirtualNotAllowed));
}

TEST_F(GovernanceTest, TheZoneFeeMatrixAndCommoditiesChangeByProposal) {
  using market::FeeEntry;
  market::FeesAction fees{{FeeEntry{"north", "north", 0}, FeeEntry{"north", "south", 5000},
                           FeeEntry{"south", "south", 0}, FeeEntry{"south", "north", 7000}}};
  // An incomplete matrix (south -> north missing) is refused when proposed.
  market::FeesAction partial{{FeeEntry{"north", "north", 0}, FeeEntry{"north", "south", 5000},
                              FeeEntry{"south", "south", 0}}};
  EXPECT_EQ(propose(a, {governed_action("market/set_fees", partial)}).code,
            code(market::kBadMarketShape));
  ASSERT_TRUE(propose(a, {governed_action("market/set_fees", fees),
                          governed_action("market/add_commodity", market::CommodityAction{"heat"})})
                  .ok());
  ASSERT_TRUE(vote(a, 0, Choice::kYes).ok());
  ASSERT_TRUE(vote(b, 0, Choice::kYes).ok());
  auto cfg = market::kConfig.get(chain->store()).value();
  EXPECT_EQ(cfg.fees["north"]["south"], 5000);
  EXPECT_EQ(cfg.fees["south"]["north"], 7000);
  EXPECT_EQ(cfg.commodities, (std::vector<std::string>{"electricity", "heat"}));
  // A later change of one fee keeps the rest.
  ASSERT_TRUE(propose(b, {governed_action("market/set_fees",
                                          market::FeesAction{{FeeEntry{"north", "south", 4000}}})})
                  .ok());
  ASSERT_TRUE(vote(b, 1, Choice::kYes).ok());
  ASSERT_TRUE(vote(c, 1, Choice::kYes).ok());
  cfg = market::kConfig.get(chain->store()).value();
  EXPECT_EQ(cfg.fees["north"]["south"], 4000);
  EXPECT_EQ(cfg.fees["south"]["north"], 7000);
  EXPECT_EQ(
      propose(a, {governed_action("market/add_commodity", market::CommodityAction{"heat"})}).code,
      code(market::kBadMarketShape));
}

TEST_F(GovernanceTest, ExpiresAtItsDeadline) {
  ASSERT_TRUE(propose(a, {set_param("market.retail_tariff", "1")}, 2).ok());
  const uint64_t deadline = height() + 2;
  ASSERT_TRUE(vote(a, 0, Choice::kYes).ok());  // height deadline-1
  auto last = chain->block({});                // the deadline block: expired at its end
  ASSERT_EQ(height(), deadline);
  ASSERT_FALSE(last.empty());
  ASSERT_TRUE(find_event<OutcomeEvent>(last.back()));
  EXPECT_EQ(find_event<OutcomeEvent>(last.back())->status, ProposalStatus::kExpired);
  EXPECT_EQ(query("proposals/0")["status"], "expired");
  EXPECT_EQ(query("proposals", {{"status", "expired"}}).size(), 1u);
  EXPECT_EQ(vote(b, 0, Choice::kYes).code, code(kProposalClosed));
  EXPECT_EQ(tariff(), 300'000u);
}

TEST_F(GovernanceTest, ActivationHeightDefersExecutionToEndBlock) {
  const uint64_t at = height() + 5;
  ASSERT_TRUE(propose(a, {set_param("market.retail_tariff", "350000")}, 10, at).ok());
  ASSERT_TRUE(vote(a, 0, Choice::kYes).ok());
  ASSERT_TRUE(vote(b, 0, Choice::kYes).ok());
  EXPECT_EQ(query("proposals/0")["status"], "passed");
  EXPECT_TRUE(query("proposals/0")["executed_height"].is_null());
  while (height() < at - 1) chain->block({});
  EXPECT_EQ(tariff(), 300'000u);
  auto receipts = chain->block({});
  EXPECT_EQ(height(), at);
  EXPECT_EQ(tariff(), 350'000u);
  ASSERT_TRUE(find_event<OutcomeEvent>(receipts.back()));
  EXPECT_EQ(query("proposals/0")["executed_height"], at);
}

TEST_F(GovernanceTest, RefusalsChangeNothing) {
  const auto tariff_set = [](std::string v) {
    return std::vector<Action>{set_param("market.retail_tariff", std::move(v))};
  };
  EXPECT_EQ(propose(outsider, tariff_set("1")).code, code(kNotMember));
  EXPECT_EQ(propose(a, {set_param("market.no_such", "1")}).code, code(kUnknownParameter));
  EXPECT_EQ(propose(a, tariff_set("2000000000000")).code, code(kBadParamValue));  // range
  EXPECT_EQ(propose(a, tariff_set("cheap")).code, code(kBadParamValue));          // type
  EXPECT_EQ(propose(a, {set_param("market.tax_ppm", "10")}).code,
            code(kBadParamValue));  // the market's rule: a tax needs a tax account
  EXPECT_EQ(propose(a, {}).code, code(kBadProposal));
  EXPECT_EQ(propose(a, tariff_set("1"), 0).code, code(kBadProposal));
  EXPECT_EQ(propose(a, tariff_set("1"), 10, 0).code, code(kBadProposal));  // activation past
  EXPECT_EQ(
      propose(a, {set_param("market.retail_tariff", "1"), set_param("market.retail_tariff", "2")})
          .code,
      code(kBadProposal));
  EXPECT_EQ(propose(a, {governed_action("no/such", MemberAction{outsider.public_key()})}).code,
            code(kUnknownAction));
  // Fewer members than the threshold: removing two of three, or a threshold of four.
  EXPECT_EQ(propose(a, {governed_action("governance/remove_member", MemberAction{b.public_key()}),
                        governed_action("governance/remove_member", MemberAction{c.public_key()})})
                .code,
            code(kBelowThreshold));
  EXPECT_EQ(propose(a, {set_param("governance.threshold", "3"),
                        governed_action("governance/remove_member", MemberAction{c.public_key()})})
                .code,
            code(kBelowThreshold));
  EXPECT_EQ(propose(a, {set_param("governance.threshold", "4")}).code, code(kBelowThreshold));
  EXPECT_EQ(
      propose(a, {governed_action("governance/add_member", MemberAction{b.public_key()})}).code,
      code(kMemberExists));
  EXPECT_EQ(propose(a, {governed_action("governance/remove_validator",
                                        ValidatorAction{validator.public_key()})})
                .code,
            code(kNoValidators));
  // Too many actions, too large a memo or payload: refused when decoded.
  // (The encoder refuses them too, so they are written by hand: count, then each action.)
  auto raw = [](size_t actions, size_t payload, size_t memo) {
    codec::Writer w;
    w.u32(static_cast<uint32_t>(actions));
    for (size_t i = 0; i < actions; ++i)
      w.u8(2).str("governance/add_member", 1000).str("", 1000).bytes(Bytes(payload, 0), 1 << 20);
    w.u64(10).boolean(false).str(std::string(memo, 'm'), 1 << 20);
    return w.take();
  };
  ASSERT_EQ(chain->one(a, kPropose, raw(1, 0, 0)).code, code(Code::kTruncated));  // no key
  EXPECT_EQ(chain->one(a, kPropose, raw(kMaxActions + 1, 0, 0)).code, code(Code::kFieldTooLong));
  EXPECT_EQ(chain->one(a, kPropose, raw(1, kMaxActionPayload + 1, 0)).code,
            code(Code::kFieldTooLong));
  EXPECT_EQ(chain->one(a, kPropose, raw(1, 0, kMaxMemo + 1)).code, code(Code::kFieldTooLong));
  // Votes: by a non-member, on no proposal.
  EXPECT_EQ(vote(outsider, 0, Choice::kYes).code, code(kNotMember));
  EXPECT_EQ(vote(a, 7, Choice::kYes).code, code(kProposalNotFound));
  // Nothing of the refused proposals is in state: no proposal, no id used.
  EXPECT_EQ(query("proposals"), json::array());
  int governance_keys = 0;
  chain->store().scan("governance/proposal/", [&](std::string_view, std::string_view) {
    ++governance_keys;
    return true;
  });
  EXPECT_EQ(governance_keys, 0);
  EXPECT_EQ(tariff(), 300'000u);
  EXPECT_EQ(threshold(chain->store()), 2u);
}

TEST_F(GovernanceTest, MembersAndValidatorsChangeByProposal) {
  const PublicKey d = outsider.public_key();
  ASSERT_TRUE(propose(a, {governed_action("governance/add_member", MemberAction{d}),
                          set_param("governance.threshold", "3"),
                          governed_action("governance/add_validator", ValidatorAction{d})})
                  .ok());
  ASSERT_TRUE(vote(a, 0, Choice::kYes).ok());
  auto r = vote(c, 0, Choice::kYes);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(find_event<MembershipEvent>(r));
  EXPECT_EQ(members(chain->store()).size(), 4u);
  EXPECT_EQ(threshold(chain->store()), 3u);
  EXPECT_EQ(validators(chain->store()).size(), 2u);
  // The new member proposes and votes; three yes votes are needed now.
  ASSERT_TRUE(
      propose(outsider, {governed_action("governance/remove_member", MemberAction{a.public_key()})})
          .ok());
  ASSERT_TRUE(vote(outsider, 1, Choice::kYes).ok());
  ASSERT_TRUE(vote(b, 1, Choice::kYes).ok());
  EXPECT_EQ(query("proposals/1")["status"], "open");
  ASSERT_TRUE(vote(c, 1, Choice::kYes).ok());
  EXPECT_EQ(query("proposals/1")["status"], "passed");
  EXPECT_FALSE(is_member(chain->store(), a.public_key()));
  EXPECT_EQ(propose(a, {set_param("market.retail_tariff", "1")}).code, code(kNotMember));
}

TEST_F(GovernanceTest, TheAttestationPolicyChangesByProposal) {
  const Hash32 m = sha256("firmware 2");
  ASSERT_TRUE(
      propose(a, {governed_action("meters/add_measurement", meters::MeasurementAction{m})}).ok());
  ASSERT_TRUE(vote(a, 0, Choice::kYes).ok());
  EXPECT_FALSE(chain->store().get("meters/meas/" + std::string(m.view())));
  auto r = vote(b, 0, Choice::kYes);
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_TRUE(find_event<meters::PolicyEvent>(r));
  EXPECT_EQ(find_event<meters::PolicyEvent>(r)->change, "add-measurement " + m.hex());
  EXPECT_TRUE(chain->store().get("meters/meas/" + std::string(m.view())));
  EXPECT_EQ(query("proposals/0")["changes"][0]["action"], "meters/add_measurement");
  EXPECT_EQ(query("proposals/0")["changes"][0]["payload"]["measurement"], m.hex());
  // Refused when proposed: removing what is not there, a root that is no certificate.
  EXPECT_EQ(propose(a, {governed_action("meters/remove_measurement",
                                        meters::MeasurementAction{sha256("other")})})
                .code,
            code(Code::kNotFound));
  EXPECT_EQ(
      propose(a, {governed_action("meters/add_root", meters::RootAction{Bytes{1, 2, 3}})}).code,
      code(attest::kBadPolicy));
  // No single key changes it on this chain (no meters authority in its genesis).
  EXPECT_EQ(chain
                ->one(a, meters::kPolicy,
                      meters::encode(meters::PolicyPayload{meters::PolicyOp::kRemoveMeasurement,
                                                           Bytes(m.bytes.begin(), m.bytes.end())}))
                .code,
            code(meters::kNotMeterAuthority));
}

TEST_F(GovernanceTest, AnActionRefusedAtExecutionFailsTheWholeProposal) {
  const PublicKey d = outsider.public_key();
  // Two proposals that are each fine alone; once the first executes, the second's
  // add_member is refused at execution, and its tariff change is not applied either.
  ASSERT_TRUE(propose(a, {governed_action("governance/add_member", MemberAction{d})}).ok());
  ASSERT_TRUE(propose(a, {set_param("market.retail_tariff", "123"),
                          governed_action("governance/add_member", MemberAction{d})})
                  .ok());
  ASSERT_TRUE(vote(a, 0, Choice::kYes).ok());
  ASSERT_TRUE(vote(b, 0, Choice::kYes).ok());
  ASSERT_TRUE(vote(a, 1, Choice::kYes).ok());
  auto r = vote(b, 1, Choice::kYes);
  ASSERT_TRUE(r.ok()) << r.message;  // the vote counts; the proposal fails
  auto outcome = find_event<OutcomeEvent>(r);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->status, ProposalStatus::kFailed);
  EXPECT_EQ(outcome->error_code, static_cast<uint32_t>(kMemberExists));
  EXPECT_EQ(query("proposals/1")["status"], "failed");
  EXPECT_EQ(query("proposals/1")["error"]["name"], "MEMBER_EXISTS");
  EXPECT_EQ(tariff(), 300'000u);
  EXPECT_EQ(members(chain->store()).size(), 4u);
}

TEST_F(GovernanceTest, EventsAndRecordsHoldNoJsonAndTheSchemaMatchesTheHeader) {
  ASSERT_TRUE(propose(a, {set_param("market.retail_tariff", "5")}).ok());
  ASSERT_TRUE(vote(a, 0, Choice::kYes).ok());
  chain->store().scan("governance/", [&](std::string_view k, std::string_view v) {
    EXPECT_FALSE(v.starts_with("{") || v.starts_with("[")) << k;
    return true;
  });
  EXPECT_EQ(testing::schema_drift(
                gov, std::string(GRIDPACT_SOURCE_DIR) + "/src/modules/governance/governance.hpp"),
            std::vector<std::string>{});
}

// The same transactions on two fresh chains give the same state roots, block by block.
TEST(GovernanceDeterminism, TwoChainsAgree) {
  KeyPair a = KeyPair::generate(), b = KeyPair::generate(), op = KeyPair::generate();
  json g = {{"bank", {{"issuer", a.public_key().hex()}}},
            {"market", {{"operator", op.public_key().hex()}}},
            {"governance",
             {{"members", {a.public_key().hex(), b.public_key().hex()}}, {"threshold", 2}}}};
  auto run = [&] {
    bank::BankModule bank_module;
    market::MarketModule market_module;
    GovernanceModule gov;
    meters::MetersModule meters_module;
    testing::Chain chain({&bank_module, &meters_module, &market_module, &gov}, g);
    std::vector<Hash32> roots;
    auto step = [&](const KeyPair& k, uint16_t type, Bytes p) {
      chain.one(k, type, std::move(p), 1000 * (roots.size() + 1));
      roots.push_back(chain.store().state_root());
    };
    step(a, kPropose,
         encode(ProposePayload{{set_param("market.retail_tariff", "7")}, 3, std::nullopt, ""}));
    step(a, kPropose,
         encode(ProposePayload{{set_param("market.feed_in_tariff", "7")}, 2, std::nullopt, ""}));
    step(a, kVote, encode(VotePayload{0, Choice::kYes}));
    step(b, kVote, encode(VotePayload{0, Choice::kYes}));
    step(b, kVote, encode(VotePayload{1, Choice::kNo}));
    return roots;
  };
  EXPECT_EQ(run(), run());
}

}  // namespace
}  // namespace gridpact::governance
