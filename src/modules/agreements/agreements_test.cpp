// Agreements: terms, templates, signing, billing, arrears and default, amendments.
#include "modules/agreements/testing.hpp"

namespace gridpact::agreements {
namespace {

using namespace test;

TEST_F(AgreementsTest, TermsEncodeDecodeHashAndRender) {
  Terms t = lease_template(args(1, 2));
  t.rebate_bps = 1500;
  t.parties.push_back({dso.public_key(), Role::kDso});
  t.energy_shares = {{0, 9000}, {2, 1000}};
  t.note = "ten year lease";
  ASSERT_TRUE(validate_terms(t).is_ok()) << validate_terms(t).message;
  auto back = decode_terms(encode_terms(t));
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(encode_terms(*back), encode_terms(t));
  EXPECT_EQ(terms_hash(*back), terms_hash(t));
  auto fromj = terms_from_json(terms_json(t));
  ASSERT_TRUE(fromj.is_ok()) << fromj.status().message;
  EXPECT_EQ(terms_hash(*fromj), terms_hash(t));
  Terms other = t;
  other.rebate_bps = 1501;
  EXPECT_NE(terms_hash(other), terms_hash(t));
  std::string text = render_terms(t, terms_hash(t));
  EXPECT_NE(text.find(terms_hash(t).hex()), std::string::npos);
  EXPECT_NE(text.find("15.00%"), std::string::npos);
  EXPECT_NE(text.find("returns to its owner"), std::string::npos);
  // Truncated, trailing and bad enum bytes are rejected.
  Bytes b = encode_terms(t);
  EXPECT_EQ(decode_terms(Bytes(b.begin(), b.end() - 1)).status().code, Code::kTruncated);
  Bytes longer = b;
  longer.push_back(0);
  EXPECT_EQ(decode_terms(longer).status().code, Code::kTrailingBytes);
  Bytes bad_kind = b;
  bad_kind[1] = 9;
  EXPECT_EQ(decode_terms(bad_kind).status().code, Code::kBadEncoding);
}

TEST_F(AgreementsTest, TemplatesAreValidAndCheckTheirShape) {
  auto a = args(1, 2);
  for (Kind k : {Kind::kLease, Kind::kLeaseToOwn, Kind::kPpa, Kind::kSurplusShare}) {
    auto t = make_template(k, a);
    ASSERT_TRUE(t.is_ok());
    EXPECT_TRUE(validate_terms(*t).is_ok()) << kind_name(k) << ": " << validate_terms(*t).message;
  }
  Terms lto = lease_to_own_template(a);
  lto.disposition = Disposition::kReturnToOwner;
  EXPECT_EQ(validate_terms(lto).code, kBadTerms);
  Terms ppa = ppa_template(a);
  ppa.volume_wh = 0;
  EXPECT_EQ(validate_terms(ppa).code, kBadTerms);
  Terms lease = lease_template(a);
  lease.energy_shares = {{0, 6000}, {1, 3000}};
  EXPECT_EQ(validate_terms(lease).code, kSharesNot100);
  lease.energy_shares = {{0, 6000}, {5, 4000}};
  EXPECT_EQ(validate_terms(lease).code, kBadTerms);
  Terms dup = lease_template(a);
  dup.parties[1].account = dup.parties[0].account;
  EXPECT_EQ(validate_terms(dup).code, kBadTerms);
}

TEST_F(AgreementsTest, LeaseToOwnBillsInstalmentsAndTransfersOwnership) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  uint64_t supply = bank::supply(chain->store());
  Terms t = lease_to_own_template(args(asset, prem));
  uint64_t id = active(t);
  EXPECT_EQ(find_asset(chain->store(), asset)->agreement, id);
  uint64_t owner0 = bal(owner), host0 = bal(host);
  // Nothing is billed before the first period ends.
  tick(due(t, 0) - 1);
  EXPECT_EQ(state(id).billed_periods, 0u);
  for (uint32_t k = 1; k <= 3; ++k) {
    auto receipts = tick(due(t, k - 1));
    ASSERT_FALSE(receipts.empty());
    EXPECT_EQ(receipts.back().events.at(0).type, "agreements/billing");
    EXPECT_EQ(state(id).billed_periods, k);
    EXPECT_EQ(bal(owner), owner0 + k * t.instalment_micro);
    EXPECT_EQ(bal(host), host0 - k * t.instalment_micro);
    auto p = find_payment(chain->store(), id, k - 1);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->status, PaymentStatus::kPaid);
    EXPECT_EQ(p->due, t.instalment_micro);
  }
  EXPECT_EQ(state(id).status, Status8::kEnded);
  auto a = find_asset(chain->store(), asset);
  EXPECT_EQ(a->owner, host.public_key());
  EXPECT_EQ(a->agreement, 0u);
  EXPECT_EQ(bank::supply(chain->store()), supply);
  EXPECT_EQ(total_money(), supply);
  // Nothing more is due: no further billing.
  tick(t.start_ms + kPeriod * 10);
  EXPECT_EQ(state(id).billed_periods, 3u);
  EXPECT_EQ(bal(owner), owner0 + 3 * t.instalment_micro);
}

TEST_F(AgreementsTest, LeaseEndsWithTheAssetBackWithItsOwner) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  Terms t = lease_template(args(asset, prem));
  t.periods = 2;
  uint64_t id = active(t);
  tick(due(t, 1));
  EXPECT_EQ(state(id).status, Status8::kEnded);
  EXPECT_EQ(find_asset(chain->store(), asset)->owner, owner.public_key());
  EXPECT_EQ(find_asset(chain->store(), asset)->agreement, 0u);
  // The asset is listed again and may serve a new agreement.
  Terms again = lease_template(args(asset, prem));
  EXPECT_TRUE(tx(owner, kPropose, encode_terms(again)).ok());
}

TEST_F(AgreementsTest, SigningNeedsEveryPartyAndTheExactTerms) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  Terms t = lease_template(args(asset, prem));
  t.parties.push_back({dso.public_key(), Role::kDso});
  t.energy_shares = {{0, 9500}, {2, 500}};
  uint64_t id = propose(t);
  Hash32 h = terms_hash(t);
  auto before = snapshot();
  EXPECT_EQ(tx(stranger, kSign, encode(SignPayload{id, h})).code, code(kNotAParty));
  EXPECT_EQ(tx(host, kSign, encode(SignPayload{id, sha256("other terms")})).code,
            code(kTermsHashMismatch));
  EXPECT_EQ(tx(owner, kSign, encode(SignPayload{id, h})).code, code(kAlreadySigned));
  EXPECT_EQ(tx(host, kSign, encode(SignPayload{id + 7, h})).code, code(kAgreementNotFound));
  EXPECT_EQ(snapshot(), before);
  EXPECT_TRUE(tx(host, kSign, encode(SignPayload{id, h})).ok());
  EXPECT_EQ(state(id).status, Status8::kProposed);  // the DSO has not signed
  EXPECT_EQ(find_asset(chain->store(), asset)->agreement, 0u);
  auto r = tx(dso, kSign, encode(SignPayload{id, h}));
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(state(id).status, Status8::kActive);
  EXPECT_EQ(state(id).signed_mask, 7u);
  EXPECT_EQ(tx(dso, kSign, encode(SignPayload{id, h})).code, code(kWrongStatus));
  // The rendering carries the signed hash.
  auto text = agreements.query(chain->store(), "agreements/" + std::to_string(id) + "/text",
                               json::object());
  ASSERT_TRUE(text.is_ok());
  EXPECT_EQ((*text)["terms_hash"], h.hex());
  EXPECT_NE((*text)["text"].get<std::string>().find("dso"), std::string::npos);
}

TEST_F(AgreementsTest, BadProposalsChangeNothing) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  auto before = snapshot();
  Terms t = lease_template(args(asset, prem));
  t.energy_shares = {{0, 9000}};
  EXPECT_EQ(tx(owner, kPropose, encode_terms(t)).code, code(kSharesNot100));
  Terms wrong_owner = lease_template(args(asset, prem));
  std::swap(wrong_owner.parties[0].account, wrong_owner.parties[1].account);
  EXPECT_EQ(tx(owner, kPropose, encode_terms(wrong_owner)).code, code(kNotAssetOwner));
  Terms outsider = lease_template(args(asset, prem));
  EXPECT_EQ(tx(stranger, kPropose, encode_terms(outsider)).code, code(kNotAParty));
  Terms no_asset = lease_template(args(asset + 5, prem));
  EXPECT_EQ(tx(owner, kPropose, encode_terms(no_asset)).code, code(kAssetNotFound));
  Terms no_prem = lease_template(args(asset, prem + 5));
  EXPECT_EQ(tx(owner, kPropose, encode_terms(no_prem)).code, code(kPremisesNotFound));
  EXPECT_EQ(snapshot(), before);
}

TEST_F(AgreementsTest, ExecuteBeforeStartAndWhenNothingIsDue) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  Terms t = lease_to_own_template(args(asset, prem));
  t.start_ms = now + 100'000;
  uint64_t id = active(t);
  auto before = snapshot();
  auto r = tx(host, kExecute, encode(IdPayload{id}));
  EXPECT_EQ(r.code, code(kNotStarted));
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(tx(stranger, kExecute, encode(IdPayload{id})).code, code(kNotAParty));
  now = t.start_ms + 1;
  EXPECT_EQ(tx(host, kExecute, encode(IdPayload{id})).code, code(kNothingDue));
  // Executed by a party in the block where the period ends: billed by the transaction.
  now = due(t, 0) - 1000;
  auto ok_r = tx(owner, kExecute, encode(IdPayload{id}));
  ASSERT_TRUE(ok_r.ok()) << ok_r.message;
  EXPECT_EQ(state(id).billed_periods, 1u);
  EXPECT_EQ(ok_r.events.at(0).type, "agreements/executed");
  EXPECT_EQ(agreements.event_json(ok_r.events.at(0)).value()["paid"], 1);
}

TEST_F(AgreementsTest, MissedPaymentGracePenaltyThenDefaultReturnsTheAsset) {
  uint64_t asset = register_asset(owner);
  KeyPair poor = KeyPair::generate();
  // The poor host gets a little money for fees only.
  ASSERT_TRUE(tx(issuer, bank::kMint, bank::encode(bank::MintPayload{poor.public_key(), 1})).ok());
  Premises p;
  p.area_m2 = 40;
  p.name = "poor";
  ASSERT_TRUE(tx(poor, kRegisterPremises, encode(p)).ok());
  uint64_t prem = get_u64(chain->store(), "agr/next/prem");
  TemplateArgs a = args(asset, prem);
  a.host = poor.public_key();
  a.periods = 10;
  Terms t = lease_to_own_template(a);
  t.grace_ms = kPeriod / 2;
  t.penalty_bps = 1000;
  t.default_ms = 2 * kPeriod;
  uint64_t id = propose(t);
  ASSERT_TRUE(tx(poor, kSign, encode(SignPayload{id, terms_hash(t)})).ok());
  uint64_t owner0 = bal(owner);
  uint64_t since = t.start_ms + kPeriod;  // the period's end: arrears count from here
  tick(due(t, 0));
  auto st = state(id);
  EXPECT_EQ(st.billed_periods, 1u);
  EXPECT_EQ(st.arrears_total(), t.instalment_micro);
  EXPECT_EQ(find_payment(chain->store(), id, 0)->status, PaymentStatus::kMissed);
  EXPECT_EQ(bal(owner), owner0);
  // Within grace: no penalty.
  tick(since + kPeriod / 2 - 1);
  EXPECT_FALSE(state(id).penalty_applied);
  tick(since + kPeriod / 2);
  st = state(id);
  EXPECT_TRUE(st.penalty_applied);
  EXPECT_EQ(st.arrears_total(), t.instalment_micro + t.instalment_micro / 10);
  // Paying from an empty account fails and changes nothing.
  auto before = snapshot();
  EXPECT_EQ(tx(poor, kPay, encode(IdPayload{id})).code, code(Code::kInsufficientFunds));
  EXPECT_EQ(snapshot(), before);
  // Default after default_ms: the host's last unit goes to its arrears, the asset returns
  // to its owner, the rest of the debt stays on record.
  tick(since + 2 * kPeriod);
  st = state(id);
  EXPECT_EQ(st.status, Status8::kDefaulted);
  EXPECT_GT(st.arrears_total(), 0u);
  auto as = find_asset(chain->store(), asset);
  EXPECT_EQ(as->owner, owner.public_key());
  EXPECT_EQ(as->agreement, 0u);
  EXPECT_EQ(bal(owner), owner0 + 1);
}

TEST_F(AgreementsTest, ArrearsPaidLateWithinGrace) {
  uint64_t asset = register_asset(owner);
  KeyPair late = KeyPair::generate();
  ASSERT_TRUE(tx(issuer, bank::kMint, bank::encode(bank::MintPayload{late.public_key(), 1})).ok());
  Premises p;
  p.area_m2 = 40;
  ASSERT_TRUE(tx(late, kRegisterPremises, encode(p)).ok());
  TemplateArgs a = args(asset, get_u64(chain->store(), "agr/next/prem"));
  a.host = late.public_key();
  a.periods = 2;
  Terms t = lease_to_own_template(a);
  uint64_t id = propose(t);
  ASSERT_TRUE(tx(late, kSign, encode(SignPayload{id, terms_hash(t)})).ok());
  tick(due(t, 0));
  EXPECT_EQ(state(id).arrears_total(), t.instalment_micro);
  EXPECT_EQ(tx(owner, kPay, encode(IdPayload{id})).code, code(kNotAParty));
  ASSERT_TRUE(
      tx(issuer, bank::kMint, bank::encode(bank::MintPayload{late.public_key(), 500'000'000}))
          .ok());
  uint64_t owner0 = bal(owner);
  auto r = tx(late, kPay, encode(IdPayload{id}));
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(bal(owner), owner0 + t.instalment_micro);
  EXPECT_EQ(state(id).arrears_total(), 0u);
  EXPECT_EQ(find_payment(chain->store(), id, 0)->status, PaymentStatus::kPaidLate);
  EXPECT_EQ(tx(late, kPay, encode(IdPayload{id})).code, code(kNoArrears));
  tick(due(t, 1));
  EXPECT_EQ(state(id).status, Status8::kEnded);
  EXPECT_EQ(find_asset(chain->store(), asset)->owner, late.public_key());
}

// A host in arrears cannot buy its way out for the termination fee alone: ending early
// pays the arrears first. At default, whatever the host holds goes to its arrears before
// the asset returns.
TEST_F(AgreementsTest, ArrearsComeBeforeTheExitAndAtDefault) {
  auto poor_lease = [&](KeyPair& h, uint64_t fee) {
    uint64_t asset = register_asset(owner);
    EXPECT_TRUE(
        tx(issuer, bank::kMint, bank::encode(bank::MintPayload{h.public_key(), 10'000'000})).ok());
    Premises p;
    p.area_m2 = 40;
    EXPECT_TRUE(tx(h, kRegisterPremises, encode(p)).ok());
    TemplateArgs a = args(asset, get_u64(chain->store(), "agr/next/prem"));
    a.host = h.public_key();
    a.periods = 10;
    Terms t = lease_to_own_template(a);
    t.termination_fee_micro = fee;
    t.penalty_bps = 0;
    t.default_ms = 2 * kPeriod;
    uint64_t id = propose(t);
    EXPECT_TRUE(tx(h, kSign, encode(SignPayload{id, terms_hash(t)})).ok());
    return std::pair{id, t};
  };
  KeyPair leaver = KeyPair::generate(), defaulter = KeyPair::generate();
  auto [left, t] = poor_lease(leaver, 7'000'000);
  auto [defaulted, t2] = poor_lease(defaulter, 0);
  tick(std::max(due(t, 0), due(t2, 0)));  // both miss the 100-unit instalment of period 0
  ASSERT_EQ(state(left).arrears_total(), t.instalment_micro);
  ASSERT_EQ(state(defaulted).arrears_total(), t2.instalment_micro);
  auto before = snapshot();
  EXPECT_EQ(tx(leaver, kTerminate, encode(IdPayload{left})).code,
            code(Code::kInsufficientFunds));  // 10 units cover the fee, not the arrears
  EXPECT_EQ(snapshot(), before);
  ASSERT_TRUE(
      tx(issuer, bank::kMint, bank::encode(bank::MintPayload{leaver.public_key(), 100'000'000}))
          .ok());
  uint64_t owner0 = bal(owner);
  ASSERT_TRUE(tx(leaver, kTerminate, encode(IdPayload{left})).ok());
  EXPECT_EQ(bal(owner), owner0 + t.instalment_micro + 7'000'000);
  EXPECT_EQ(state(left).arrears_total(), 0u);
  EXPECT_EQ(find_payment(chain->store(), left, 0)->status, PaymentStatus::kPaidLate);
  // Period 1 is missed too; then the defaulter's 10 units go to the owner at default and
  // 190 stay owed.
  owner0 = bal(owner);
  tick(t2.start_ms + kPeriod + 2 * kPeriod);
  EXPECT_EQ(state(defaulted).status, Status8::kDefaulted);
  EXPECT_EQ(bal(owner), owner0 + 10'000'000);
  EXPECT_EQ(bal(defaulter), 0u);
  EXPECT_EQ(state(defaulted).arrears_total(), 2 * t2.instalment_micro - 10'000'000);
}

// An agreement that started 100 periods ago does not bill them all in one block: at
// most agreements.max_periods_billed_per_block (16) per block, the rest in the next ones.
TEST_F(AgreementsTest, APastStartCatchesUpInBoundedSteps) {
  tick(kT0 + 200 * kPeriod);
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  TemplateArgs a = args(asset, prem);
  a.start_ms = kT0;
  a.periods = 100;
  a.instalment_micro = 1'000'000;
  Terms t = lease_to_own_template(a);
  uint64_t id = active(t);  // its block's end_block may bill the first 16 already
  uint32_t billed = state(id).billed_periods;
  EXPECT_LE(billed, 16u);
  tick(now + 1000);
  EXPECT_EQ(state(id).billed_periods, billed + 16);
  tick(now + 1000);
  EXPECT_EQ(state(id).billed_periods, billed + 32);
  for (int i = 0; i < 5; ++i) tick(now + 1000);
  EXPECT_EQ(state(id).billed_periods, 100u);
  EXPECT_EQ(state(id).status, Status8::kEnded);
}

// Issue 20: premises cost nothing and need no meter, so one key could register them without
// end. agreements.max_premises_per_account bounds them per host (default 100).
TEST_F(AgreementsTest, PremisesPerAccountAreBounded) {
  EXPECT_EQ(read_u64_param(chain->store(), "agreements.max_premises_per_account"), 100u);
  start({{"max_premises_per_account", 2}});
  register_premises(host);
  register_premises(host);
  Premises p;
  p.area_m2 = 40;
  p.name = "third";
  auto third = tx(host, kRegisterPremises, encode(p));
  EXPECT_EQ(third.code, code(kTooManyPremises)) << third.message;
  EXPECT_EQ(get_u64(chain->store(), "agr/next/prem"), 2u);
  register_premises(owner);  // another account has its own allowance
}

TEST_F(AgreementsTest, AssetTransfersOnlyByTheOwnerAndWhenFree) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  auto before = snapshot();
  EXPECT_EQ(
      tx(stranger, kTransferAsset, encode(TransferAssetPayload{asset, stranger.public_key()})).code,
      code(kNotAssetOwner));
  EXPECT_EQ(
      tx(owner, kTransferAsset, encode(TransferAssetPayload{asset + 1, stranger.public_key()}))
          .code,
      code(kAssetNotFound));
  EXPECT_EQ(snapshot(), before);
  uint64_t id = active(lease_template(args(asset, prem)));
  EXPECT_EQ(
      tx(owner, kTransferAsset, encode(TransferAssetPayload{asset, stranger.public_key()})).code,
      code(kAssetInUse));
  // Ending early: the terminating host pays the fee; the asset is free again.
  ASSERT_TRUE(tx(host, kTerminate, encode(IdPayload{id})).ok());
  EXPECT_EQ(state(id).status, Status8::kTerminated);
  EXPECT_EQ(tx(host, kTerminate, encode(IdPayload{id})).code, code(kWrongStatus));
  ASSERT_TRUE(
      tx(owner, kTransferAsset, encode(TransferAssetPayload{asset, stranger.public_key()})).ok());
  EXPECT_EQ(find_asset(chain->store(), asset)->owner, stranger.public_key());
}

TEST_F(AgreementsTest, EarlyTerminationPaysTheFee) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  Terms t = lease_template(args(asset, prem));
  t.termination_fee_micro = 7'000'000;
  uint64_t id = active(t);
  uint64_t o = bal(owner), h = bal(host);
  EXPECT_EQ(tx(stranger, kTerminate, encode(IdPayload{id})).code, code(kNotAParty));
  ASSERT_TRUE(tx(owner, kTerminate, encode(IdPayload{id})).ok());
  EXPECT_EQ(bal(owner), o - 7'000'000);
  EXPECT_EQ(bal(host), h + 7'000'000);
  // No more billing after termination.
  tick(t.start_ms + 5 * kPeriod);
  EXPECT_EQ(state(id).billed_periods, 0u);
}

TEST_F(AgreementsTest, AmendmentNeedsEverySignature) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  Terms t = lease_to_own_template(args(asset, prem));
  t.periods = 4;
  uint64_t id = active(t);
  Terms n = t;
  n.instalment_micro = 50'000'000;
  EXPECT_EQ(tx(stranger, kAmend, encode(AmendPayload{id, n})).code, code(kNotAParty));
  Terms moved = n;
  moved.start_ms += 1;
  EXPECT_EQ(tx(owner, kAmend, encode(AmendPayload{id, moved})).code, code(kBadTerms));
  ASSERT_TRUE(tx(host, kAmend, encode(AmendPayload{id, n})).ok());
  EXPECT_EQ(tx(host, kSignAmendment, encode(SignPayload{id, terms_hash(n)})).code,
            code(kAlreadySigned));
  EXPECT_EQ(tx(owner, kSignAmendment, encode(SignPayload{id, terms_hash(t)})).code,
            code(kTermsHashMismatch));
  EXPECT_EQ(state(id).terms_hash, terms_hash(t));  // not yet amended
  ASSERT_TRUE(tx(owner, kSignAmendment, encode(SignPayload{id, terms_hash(n)})).ok());
  EXPECT_EQ(state(id).terms_hash, terms_hash(n));
  EXPECT_EQ(find_terms(chain->store(), id)->instalment_micro, 50'000'000u);
  EXPECT_EQ(tx(owner, kSignAmendment, encode(SignPayload{id, terms_hash(n)})).code,
            code(kNoAmendment));
  uint64_t o = bal(owner);
  tick(due(t, 0));
  EXPECT_EQ(bal(owner), o + 50'000'000);
}

TEST_F(MeteredTest, LeaseBillsUsedEnergyLessRebateSplitWithTheDso) {
  Terms t = lease_template(args(asset, prem));
  t.parties.push_back({dso.public_key(), Role::kDso});
  t.energy_shares = {{0, 9000}, {2, 1000}};
  t.rebate_bps = 1500;
  t.periods = 2;
  uint64_t id = propose(t);
  ASSERT_TRUE(tx(host, kSign, encode(SignPayload{id, terms_hash(t)})).ok());
  ASSERT_TRUE(tx(dso, kSign, encode(SignPayload{id, terms_hash(t)})).ok());
  uint64_t supply = bank::supply(chain->store());
  uint64_t o = bal(owner), h = bal(host);
  meter_period(t, 0, 1000, 300);  // 4000 Wh generated, 1200 Wh sold: 2800 Wh used
  tick(due(t, 0));
  auto p = find_payment(chain->store(), id, 0).value();
  EXPECT_EQ(p.generated_wh, 4000u);
  EXPECT_EQ(p.surplus_wh, 1200u);
  EXPECT_EQ(p.billed_wh, 2800u);
  EXPECT_EQ(p.missing_readings, 0u);
  EXPECT_EQ(p.energy_charge, 2800u * 200'000 / 1000);  // 560000
  EXPECT_EQ(p.rebate, 84'000u);
  EXPECT_EQ(p.due, 476'000u);
  EXPECT_EQ(bal(owner), o + 428'400);
  EXPECT_EQ(bal(dso), 47'600u);
  EXPECT_EQ(bal(host), h - 476'000);
  // Period 1 has no readings at all: billed as zero, the gap on record.
  tick(due(t, 1));
  auto p1 = find_payment(chain->store(), id, 1).value();
  EXPECT_EQ(p1.generated_wh, 0u);
  EXPECT_EQ(p1.missing_readings, 8u);
  EXPECT_EQ(state(id).status, Status8::kEnded);
  EXPECT_EQ(total_money(), supply);
}

TEST_F(MeteredTest, PpaBillsUpToTheContractedVolume) {
  TemplateArgs a = args(asset, prem);
  a.volume_wh = 3000;
  Terms t = ppa_template(a);
  t.periods = 1;
  uint64_t id = active(t);
  uint64_t o = bal(owner);
  meter_period(t, 0, 1000, 0);  // 4000 Wh delivered, 3000 contracted
  tick(due(t, 0));
  auto p = find_payment(chain->store(), id, 0).value();
  EXPECT_EQ(p.billed_wh, 3000u);
  EXPECT_EQ(p.due, 600'000u);
  EXPECT_EQ(bal(owner), o + 600'000);
  EXPECT_EQ(state(id).status, Status8::kEnded);
}

TEST_F(MeteredTest, SurplusRevenueIsShared) {
  TemplateArgs a = args(asset, prem);
  a.price_micro_per_kwh = 100'000;  // what neighbours paid per kWh
  a.rebate_bps = 6000;              // the owner's share
  Terms t = surplus_share_template(a);
  t.periods = 1;
  uint64_t id = active(t);
  uint64_t o = bal(owner), h = bal(host);
  meter_period(t, 0, 1000, 500);  // 2000 Wh sold
  tick(due(t, 0));
  auto p = find_payment(chain->store(), id, 0).value();
  EXPECT_EQ(p.surplus_wh, 2000u);
  EXPECT_EQ(p.surplus_revenue, 200'000u);
  EXPECT_EQ(p.due, 120'000u);
  EXPECT_EQ(bal(owner), o + 120'000);
  EXPECT_EQ(bal(host), h - 120'000);
}

}  // namespace
}  // namespace gridpact::agreements
