#include "modules/agreements/agreements.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "attest/virtual_platform.hpp"
#include "ledger/executor.hpp"
#include "ledger/testing.hpp"
#include "modules/agreements/match.hpp"
#include "modules/agreements/records.hpp"  // encode_asset_state: many listings at once
#include "modules/bank/bank.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"

namespace gridpact::agreements {
namespace {

uint16_t code(Code c) {
  return static_cast<uint16_t>(c);
}

constexpr uint64_t kT0 = 1'000'000;   // first block time
constexpr uint64_t kPeriod = 60'000;  // one-minute billing periods
constexpr uint64_t kSettle = 15'000;  // meters' settlement period: 4 per billing period

// A virtual meter (allowed by this test chain's genesis) and its cumulative registers.
struct TestMeter {
  KeyPair key = KeyPair::generate();
  Hash32 id;
  uint64_t seq = 0, import_wh = 0, export_wh = 0;
};

// The periods a meter must report (unchanged registers) before its first reading of
// `period` counts: from its registration period on (meters.hpp).
std::vector<uint64_t> catch_up_periods(const StateReader& s, const TestMeter& m, uint64_t period) {
  std::vector<uint64_t> out;
  if (m.seq != 0) return out;
  auto info = meters::find_meter(s, m.id);
  for (uint64_t q = meters::period_at(s, info->registered_time_ms); q < period; ++q)
    out.push_back(q);
  return out;
}

struct AgreementsTest : ::testing::Test {
  KeyPair issuer = KeyPair::generate();
  KeyPair owner = KeyPair::generate();
  KeyPair host = KeyPair::generate();
  KeyPair dso = KeyPair::generate();
  KeyPair stranger = KeyPair::generate();
  bank::BankModule bank_module;
  meters::MetersModule meters_module;
  AgreementsModule agreements;
  std::map<uint64_t, std::shared_ptr<TestMeter>> asset_meters;
  std::unique_ptr<testing::Chain> chain;
  uint64_t now = kT0;

  void SetUp() override { start(json::object()); }
  void start(json agreements_section) {
    json genesis = {{"bank",
                     {{"issuer", issuer.public_key().hex()},
                      {"balances",
                       {{owner.public_key().hex(), 1'000'000'000},
                        {host.public_key().hex(), 1'000'000'000},
                        {stranger.public_key().hex(), 1'000'000}}}}},
                    {"meters", {{"allow_virtual", true}, {"period_ms", kSettle}}},
                    {"agreements", std::move(agreements_section)}};
    chain = std::make_unique<testing::Chain>(
        std::vector<Module*>{&bank_module, &meters_module, &agreements}, genesis);
  }

  Receipt tx(const KeyPair& k, uint16_t type, Bytes payload) {
    now += 1000;
    return chain->one(k, type, std::move(payload), now);
  }
  // An empty block at time t (end_block runs billing).
  std::vector<Receipt> tick(uint64_t t) {
    now = t;
    return chain->block({}, now);
  }
  uint64_t bal(const KeyPair& k) { return bank::balance(chain->store(), k.public_key()); }
  std::map<std::string, std::string> snapshot() {
    std::map<std::string, std::string> m;
    for (const char* prefix : {"agr/asset", "agr/prem", "agr/terms", "agr/agt", "agr/pay",
                               "agr/rat", "agr/due", "agr/next", "bank/"})
      chain->store().scan(prefix, [&](std::string_view k, std::string_view v) {
        m.emplace(k, v);
        return true;
      });
    return m;
  }
  uint64_t total_money() { return bank::holdings(chain->store()); }

  // A meters/register transaction for a new virtual meter owned by `k`.
  std::pair<Transaction, std::shared_ptr<TestMeter>> meter_registration(const KeyPair& k,
                                                                        meters::Source source) {
    auto m = std::make_shared<TestMeter>();
    meters::RegisterPayload p;
    p.microgrid = "mg-north";
    p.source = source;
    p.location = "test";
    p.firmware_version = "sim";
    Bytes key(m->key.public_key().bytes.begin(), m->key.public_key().bytes.end());
    auto nonce =
        attest::attestation_nonce("test", key, meters::registration_challenge(k.public_key(), p));
    p.evidence = attest::encode_evidence(attest::make_virtual_evidence(m->key, nonce));
    m->id = meters::meter_id_of(key);
    return {chain->sign(k, meters::kRegister, meters::encode(p)), m};
  }
  // Registers a virtual meter owned by `k` through a real meters/register transaction.
  std::shared_ptr<TestMeter> add_meter(const KeyPair& k, meters::Source source) {
    auto [t, m] = meter_registration(k, source);
    now += 1000;
    auto r = chain->block({t}, now).at(0);
    EXPECT_TRUE(r.ok()) << r.message;
    return m;
  }
  // Executes a block of transactions that must all succeed.
  void all_ok(std::vector<Transaction> txs) {
    now += 1000;
    for (const auto& r : chain->block(std::move(txs), now)) ASSERT_TRUE(r.ok()) << r.message;
  }
  // A signed reading adding `import_wh` / `export_wh` in settlement period `period`.
  void reading(TestMeter& m, uint64_t period, uint64_t import_wh, uint64_t export_wh) {
    for (uint64_t q : catch_up_periods(chain->store(), m, period)) {
      meters::Reading quiet{m.id, q, ++m.seq, m.import_wh, m.export_wh, {}};
      meters::sign_virtual(quiet, "test", m.key);
      ASSERT_TRUE(tx(stranger, meters::kReading, meters::encode(quiet)).ok());
    }
    m.import_wh += import_wh;
    m.export_wh += export_wh;
    meters::Reading r{m.id, period, ++m.seq, m.import_wh, m.export_wh, {}};
    meters::sign_virtual(r, "test", m.key);
    auto rc = tx(stranger, meters::kReading, meters::encode(r));
    EXPECT_TRUE(rc.ok()) << rc.message;
  }
  uint64_t register_asset(const KeyPair& k, uint64_t capacity_w = 5000,
                          AssetType type = AssetType::kPv) {
    auto meter = add_meter(k, static_cast<meters::Source>(type));
    Asset a;
    a.type = type;
    a.capacity_w = capacity_w;
    a.meter = meter->id;
    a.microgrid = "mg-north";
    a.lat_e6 = 47'000'000;
    a.lon_e6 = 8'000'000;
    a.price_micro_per_kwh = 150'000;
    a.name = "roof pv";
    auto r = tx(k, kRegisterAsset, encode(a));
    EXPECT_TRUE(r.ok()) << r.message;
    uint64_t id = get_u64(chain->store(), "agr/next/asset");
    asset_meters[id] = meter;
    return id;
  }
  uint64_t register_premises(const KeyPair& k, uint64_t area = 40) {
    Premises p;
    p.area_m2 = area;
    p.lat_e6 = 47'010'000;
    p.lon_e6 = 8'000'000;
    p.microgrid = "mg-north";
    p.preferred_types = type_bit(AssetType::kPv);
    p.expected_consumption_wh = 4'000'000;
    p.name = "farmhouse";
    auto r = tx(k, kRegisterPremises, encode(p));
    EXPECT_TRUE(r.ok()) << r.message;
    return get_u64(chain->store(), "agr/next/prem");
  }
  TemplateArgs args(uint64_t asset, uint64_t premises) {
    TemplateArgs a;
    a.asset = asset;
    a.premises = premises;
    a.owner = owner.public_key();
    a.host = host.public_key();
    a.start_ms = (now / kSettle + 2) * kSettle;
    a.period_ms = kPeriod;
    a.periods = 3;
    a.price_micro_per_kwh = 200'000;
    a.instalment_micro = 100'000'000;
    a.volume_wh = 1000;
    return a;
  }
  // Proposes (by the owner) and returns the agreement id.
  uint64_t propose(const Terms& t) {
    auto r = tx(owner, kPropose, encode_terms(t));
    EXPECT_TRUE(r.ok()) << r.message;
    return get_u64(chain->store(), "agr/next/agt");
  }
  // When period k (0-based) of terms starting at `start` is billed.
  static uint64_t due(const Terms& t, uint32_t k) {
    return t.start_ms + kPeriod * (k + 1) + kSettle;
  }
  AgreementState state(uint64_t id) { return find_agreement(chain->store(), id).value(); }
  // Proposed by the owner, signed by the host: active.
  uint64_t active(const Terms& t) {
    uint64_t id = propose(t);
    auto r = tx(host, kSign, encode(SignPayload{id, terms_hash(t)}));
    EXPECT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(state(id).status, Status8::kActive);
    return id;
  }
};

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

TEST_F(AgreementsTest, RatingsNeedASettledPeriodAndAreBayesian) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  Terms t = lease_to_own_template(args(asset, prem));
  uint64_t id = active(t);
  auto before = snapshot();
  EXPECT_EQ(tx(host, kRate, encode(RatePayload{id, 0, 5})).code, code(kNoSettledInteraction));
  EXPECT_EQ(snapshot(), before);
  tick(due(t, 0));
  EXPECT_EQ(tx(host, kRate, encode(RatePayload{id, 0, 0})).code, code(kBadScore));
  EXPECT_EQ(tx(host, kRate, encode(RatePayload{id, 0, 6})).code, code(kBadScore));
  EXPECT_EQ(tx(stranger, kRate, encode(RatePayload{id, 0, 5})).code, code(kNotAParty));
  EXPECT_EQ(tx(host, kRate, encode(RatePayload{id, 1, 5})).code, code(kNoSettledInteraction));
  ASSERT_TRUE(tx(host, kRate, encode(RatePayload{id, 0, 5})).ok());
  EXPECT_EQ(tx(host, kRate, encode(RatePayload{id, 0, 4})).code, code(kAlreadyRated));
  ASSERT_TRUE(tx(owner, kRate, encode(RatePayload{id, 0, 2})).ok());
  // Weight: 100 units settled + 1 = 101, capped at 10 per counterparty, against a prior
  // of 3.0 with weight 10.
  RatingTotals owner_totals = rating_totals(chain->store(), owner.public_key());
  EXPECT_EQ(owner_totals.count, 1u);
  EXPECT_EQ(owner_totals.weight, 10u);
  EXPECT_EQ(rating_milli(owner_totals), (10 * 3000 + 10 * 5 * 1000) / 20);
  EXPECT_EQ(rating_milli(rating_totals(chain->store(), host.public_key())),
            (10 * 3000 + 10 * 2 * 1000) / 20);
  EXPECT_EQ(rating_milli(RatingTotals{}), 3000u);
}

// Two keys of one person, owner and host of a lease-to-own whose instalment goes from one
// to the other, rate each other 5 after every period: together one counterparty's scores
// weigh no more than the prior, so the score stops at 4.0 (uncapped, it reached 4.97).
TEST_F(AgreementsTest, SelfPaidRatingsCannotInflateAScore) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  TemplateArgs a = args(asset, prem);
  a.periods = 6;
  Terms t = lease_to_own_template(a);
  uint64_t id = active(t);
  for (uint32_t k = 0; k < 6; ++k) {
    tick(due(t, k));
    ASSERT_TRUE(tx(host, kRate, encode(RatePayload{id, k, 5})).ok());
    ASSERT_TRUE(tx(owner, kRate, encode(RatePayload{id, k, 5})).ok());
  }
  RatingTotals totals = rating_totals(chain->store(), owner.public_key());
  EXPECT_EQ(totals.count, 6u);
  EXPECT_EQ(totals.weight, kMaxCounterpartyWeight);
  EXPECT_EQ(rating_milli(totals), 4000u);
  EXPECT_EQ(rating_milli(rating_totals(chain->store(), host.public_key())), 4000u);
}

TEST_F(AgreementsTest, MatchingRanksListedAssetsForPremises) {
  uint64_t small = register_asset(owner, 2000);
  uint64_t big = register_asset(owner, 7000);
  uint64_t too_big = register_asset(owner, 9000);  // 40 m2 * 200 W = 8000 W
  uint64_t wind = register_asset(owner, 1000, AssetType::kWind);
  uint64_t prem = register_premises(host, 40);
  auto r = agreements.query(chain->store(), "match", {{"premises", std::to_string(prem)}});
  ASSERT_TRUE(r.is_ok()) << r.status().message;
  auto m = (*r)["matches"];
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0]["asset"], big);  // uses the area better
  EXPECT_EQ(m[1]["asset"], small);
  (void)too_big;
  (void)wind;
  auto f = agreements.query(chain->store(), "match",
                            {{"premises", std::to_string(prem)}, {"max_w", "5000"}});
  EXPECT_EQ((*f)["matches"].size(), 1u);
  auto bad = agreements.query(chain->store(), "match", {{"premises", "x"}});
  EXPECT_EQ(bad.status().code, Code::kInvalidArgument);
  EXPECT_EQ(agreements.query(chain->store(), "match", {{"premises", "1"}, {"type", "coal"}})
                .status()
                .code,
            Code::kInvalidArgument);
}

// Issue 20: /assets and /match scanned every asset in state per call. Each call now examines
// at most kMaxExamined assets by id and answers `next`, where the following page resumes
// (after=); the radius is bounded as in /v1/db.
TEST_F(AgreementsTest, ListingQueriesExamineABoundedPageAndResume) {
  const uint64_t first = register_asset(owner, 2000);
  const uint64_t prem = register_premises(host, 40);
  // Many more listings, written straight into a view of state (a transaction and a meter
  // each would take minutes): copies of the first under the following ids.
  StateOverlay s(chain->store());
  Asset a = *find_asset(s, first);
  const uint64_t last = first + kMaxExamined + 1500;
  for (uint64_t id = first + 1; id <= last; ++id) {
    a.id = id;
    s.put(asset_key(id), encode_asset_state(a));
  }
  s.put("agr/next/asset", encode_u64(last));

  std::set<uint64_t> seen;
  json after = nullptr;
  size_t pages = 0;
  do {
    json params = {{"limit", "1000"}};
    if (!after.is_null()) params["after"] = std::to_string(after.get<uint64_t>());
    auto r = agreements.query(s, "assets", params);
    ASSERT_TRUE(r.is_ok()) << r.status().message;
    ASSERT_LE((*r)["assets"].size(), 1000u);
    for (const auto& x : (*r)["assets"]) EXPECT_TRUE(seen.insert(x["id"].get<uint64_t>()).second);
    after = (*r)["next"];
    ASSERT_LT(++pages, 20u);
  } while (!after.is_null());
  EXPECT_EQ(seen.size(), last);  // every listed asset once, ids 1..last
  EXPECT_EQ(*seen.rbegin(), last);

  // /match ranks within one page of examined assets: the first stops at kMaxExamined.
  json params = {{"premises", std::to_string(prem)}};
  auto m1 = agreements.query(s, "match", params);
  ASSERT_TRUE(m1.is_ok()) << m1.status().message;
  EXPECT_EQ((*m1)["next"], kMaxExamined);
  EXPECT_EQ((*m1)["matches"].size(), 20u);  // the default limit
  params["after"] = std::to_string(kMaxExamined);
  auto m2 = agreements.query(s, "match", params);
  ASSERT_TRUE(m2.is_ok()) << m2.status().message;
  EXPECT_TRUE((*m2)["next"].is_null());
  EXPECT_GT((*m2)["matches"][0]["asset"].get<uint64_t>(), kMaxExamined);

  params["radius_km"] = std::to_string(kMaxRadiusKm + 1);
  EXPECT_EQ(agreements.query(s, "match", params).status().code, Code::kInvalidArgument);
}

TEST_F(AgreementsTest, BlockLogRecordsEveryChangeInOrder) {
  uint64_t asset = register_asset(owner);
  uint64_t h = *chain->store().height();
  auto log = block_log(chain->store(), h);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].kind, LogKind::kAsset);
  EXPECT_EQ(log[0].id, asset);
  uint64_t prem = register_premises(host);
  Terms t = lease_to_own_template(args(asset, prem));
  uint64_t id = active(t);
  log = block_log(chain->store(), *chain->store().height());
  ASSERT_EQ(log.size(), 2u);  // the asset joins the agreement, the agreement activates
  EXPECT_EQ(log[0].kind, LogKind::kAsset);
  EXPECT_EQ(log[1].kind, LogKind::kAgreement);
  EXPECT_EQ(log[1].id, id);
  tick(due(t, 0));
  // One billed period: one entry for its payment and the agreement.
  log = block_log(chain->store(), *chain->store().height());
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].kind, LogKind::kBilled);
  EXPECT_EQ(log[0].id, id);
  EXPECT_EQ(log[0].period, 0u);
  // Two periods billed in one block (the last ends the agreement and transfers the
  // asset): the earlier is a payment entry, then the asset, then the agreement.
  tick(due(t, 2));
  log = block_log(chain->store(), *chain->store().height());
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0].kind, LogKind::kPayment);
  EXPECT_EQ(log[0].period, 1u);
  EXPECT_EQ(log[1].kind, LogKind::kPayment);
  EXPECT_EQ(log[1].period, 2u);
  EXPECT_EQ(log[2].kind, LogKind::kAsset);
  EXPECT_EQ(log[3].kind, LogKind::kAgreement);
  EXPECT_EQ(state(id).status, Status8::kEnded);
}

TEST_F(AgreementsTest, DueIndexSkipsStaleEntries) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  Terms t = lease_to_own_template(args(asset, prem));
  uint64_t id = active(t);
  auto index = [&] {
    std::vector<std::pair<uint64_t, uint64_t>> out;  // (time, id)
    chain->store().scan("agr/due/", [&](std::string_view k, std::string_view v) {
      for (size_t i = 0; i + 8 <= v.size(); i += 8)
        out.emplace_back(*decode_u64(k.substr(8, 8)), *decode_u64(v.substr(i, 8)));
      return true;
    });
    return out;
  };
  EXPECT_EQ(index(), (std::vector<std::pair<uint64_t, uint64_t>>{{due(t, 0), id}}));
  tick(due(t, 0));
  // Period 0 billed: its time's entry is gone, the next period's is there.
  EXPECT_EQ(index(), (std::vector<std::pair<uint64_t, uint64_t>>{{due(t, 1), id}}));
  EXPECT_EQ(state(id).next_due_ms, due(t, 1));
  // Terminated: the entry stays (stale) until its time, then goes without billing.
  ASSERT_TRUE(tx(owner, kTerminate, encode(IdPayload{id})).ok());
  EXPECT_EQ(state(id).next_due_ms, 0u);
  EXPECT_EQ(index().size(), 1u);
  auto receipts = tick(due(t, 1));
  EXPECT_TRUE(index().empty());
  EXPECT_EQ(state(id).billed_periods, 1u);
  EXPECT_FALSE(find_payment(chain->store(), id, 1));
  for (const auto& r : receipts)
    for (const auto& e : r.events) EXPECT_NE(e.type, "agreements/billing");
}

// With many agreements due, billing runs in shards on several threads. Agreements that
// share an account are billed in one shard, in order, and the log and the due index are
// written in due order afterwards: the block must be the same bytes as with one thread.
TEST_F(AgreementsTest, BillingInShardsWritesTheSameBlockAsOneThread) {
  std::mt19937_64 rng(5);
  const size_t n = 700;  // above the number of due agreements that billing splits
  // Agreements 0..349 share 25 owners (each owner's agreements form one group); from 350
  // on, each has an owner of its own. Every tenth host also hosts the agreement before.
  std::vector<KeyPair> owners, hosts;
  std::vector<size_t> owner_of(n), host_of(n);
  for (size_t i = 0; i < n; ++i) {
    owner_of[i] = i < 350 ? i % 25 : 25 + (i - 350);
    if (owner_of[i] == owners.size()) owners.push_back(KeyPair::generate());
    if (i % 10 != 9) hosts.push_back(KeyPair::generate());
    host_of[i] = hosts.size() - 1;
  }
  // A meter per asset: a meter's export serves one agreement at a time (meters.hpp, "Uses").
  std::vector<Transaction> txs;
  std::vector<Hash32> meter_of_asset;
  for (size_t i = 0; i < n; ++i) {
    auto [t, m] = meter_registration(owners[owner_of[i]], meters::Source::kPv);
    txs.push_back(std::move(t));
    meter_of_asset.push_back(m->id);
  }
  all_ok(std::move(txs));
  txs.clear();
  for (const auto& h : hosts)  // some hosts can pay little or nothing
    txs.push_back(chain->sign(issuer, bank::kMint,
                              bank::encode(bank::MintPayload{
                                  h.public_key(), rng() % 4 ? 2'000'000'000 : 1 + rng() % 1000})));
  all_ok(std::move(txs));
  uint64_t first_asset = get_u64(chain->store(), "agr/next/asset") + 1;
  uint64_t first_premises = get_u64(chain->store(), "agr/next/prem") + 1;
  uint64_t first_agreement = get_u64(chain->store(), "agr/next/agt") + 1;
  txs.clear();
  for (size_t i = 0; i < n; ++i) {
    Asset a;
    a.capacity_w = 1000 + i;
    a.meter = meter_of_asset[i];
    txs.push_back(chain->sign(owners[owner_of[i]], kRegisterAsset, encode(a)));
    Premises p;
    p.area_m2 = 40;
    txs.push_back(chain->sign(hosts[host_of[i]], kRegisterPremises, encode(p)));
  }
  all_ok(std::move(txs));
  std::vector<Terms> terms;
  txs.clear();
  for (size_t i = 0; i < n; ++i) {
    TemplateArgs a = args(first_asset + i, first_premises + i);
    a.owner = owners[owner_of[i]].public_key();
    a.host = hosts[host_of[i]].public_key();
    a.start_ms = (now / kSettle + 10) * kSettle;
    a.periods = 1 + static_cast<uint32_t>(rng() % 3);
    a.instalment_micro = 1 + rng() % 600'000'000;
    Terms t = lease_to_own_template(a);
    if (rng() % 2) {
      t.grace_ms = kPeriod / 2;
      t.penalty_bps = 1000;
      t.default_ms = 2 * kPeriod;
    }
    terms.push_back(t);
    txs.push_back(chain->sign(owners[owner_of[i]], kPropose, encode_terms(t)));
  }
  all_ok(std::move(txs));
  txs.clear();
  for (size_t i = 0; i < n; ++i)
    txs.push_back(chain->sign(hosts[host_of[i]], kSign,
                              encode(SignPayload{first_agreement + i, terms_hash(terms[i])})));
  all_ok(std::move(txs));
  txs.clear();
  for (size_t i = 0; i < n; i += 50)  // leaves stale due entries behind
    txs.push_back(
        chain->sign(owners[owner_of[i]], kTerminate, encode(IdPayload{first_agreement + i})));
  all_ok(std::move(txs));
  ASSERT_EQ(state(first_agreement + 1).status, Status8::kActive);

  AgreementsModule one_thread(1), three_threads(3);
  Executor sequential(chain->store(), {&bank_module, &meters_module, &one_thread}, "test");
  Executor sharded(chain->store(), {&bank_module, &meters_module, &three_threads}, "test");
  const uint64_t supply = bank::supply(chain->store());
  const uint64_t start = terms[0].start_ms;
  uint64_t billed = 0;
  for (uint64_t t :
       {due(terms[0], 0), start + kPeriod * 3 / 2 + kSettle, due(terms[0], 1), due(terms[0], 2)}) {
    auto a = sequential.execute({}, t, true);
    auto b = sharded.execute({}, t, true);
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    EXPECT_EQ(a->block.header.state_root, b->block.header.state_root) << "at " << t;
    EXPECT_TRUE(a->state_changes == b->state_changes) << "at " << t;
    ASSERT_EQ(a->receipts.size(), b->receipts.size());
    for (size_t i = 0; i < a->receipts.size(); ++i)
      EXPECT_EQ(a->receipts[i].encode(), b->receipts[i].encode());
    for (const auto& r : a->receipts)
      for (const auto& e : r.events)
        if (e.type == "agreements/billing")
          billed += one_thread.event_json(e).value()["billed"].get<uint64_t>();
    ASSERT_TRUE(chain->store().commit(b.value()).is_ok());
    now = t;
    ASSERT_EQ(total_money(), supply);
  }
  // Every period of every agreement not terminated was billed, some paid, some missed.
  uint64_t periods = 0, paid = 0, missed = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i % 50 == 0) continue;
    periods += terms[i].periods;
    for (uint32_t k = 0; k < terms[i].periods; ++k) {
      auto p = find_payment(chain->store(), first_agreement + i, k);
      if (!p) continue;
      (p->status == PaymentStatus::kPaid ? paid : missed)++;
    }
  }
  EXPECT_GT(paid, 0u);
  EXPECT_GT(missed, 0u);
  EXPECT_LE(billed, periods);
  EXPECT_EQ(billed, paid + missed);
  EXPECT_GT(billed, n);
}

TEST_F(AgreementsTest, MoneyIsConservedUnderRandomAgreementTraffic) {
  std::mt19937_64 rng(42);
  uint64_t supply = bank::supply(chain->store());
  std::vector<uint64_t> ids;
  for (int i = 0; i < 6; ++i) {
    uint64_t asset = register_asset(owner, 1000 + static_cast<uint64_t>(i));
    uint64_t prem = register_premises(host);
    TemplateArgs a = args(asset, prem);
    a.instalment_micro = 1 + rng() % 600'000'000;  // sometimes more than the host can pay
    a.periods = 1 + static_cast<uint32_t>(rng() % 4);
    Terms t = lease_to_own_template(a);
    t.termination_fee_micro = rng() % 3 ? 0 : rng() % 2'000'000'000;
    ids.push_back(active(t));
  }
  for (int step = 0; step < 40; ++step) {
    uint64_t id = ids[rng() % ids.size()];
    switch (rng() % 4) {
      case 0:
        tx(host, kPay, encode(IdPayload{id}));
        break;
      case 1:
        tx(rng() % 2 ? owner : host, kTerminate, encode(IdPayload{id}));
        break;
      case 2:
        tx(issuer, bank::kMint, bank::encode(bank::MintPayload{host.public_key(), 50'000'000}));
        supply += 50'000'000;
        break;
      default:
        tick(now + kPeriod / 2);
        break;
    }
    ASSERT_EQ(bank::supply(chain->store()), supply);
    ASSERT_EQ(total_money(), supply);
  }
}

// Premises with a connection meter (its export is the surplus the host sold).
struct MeteredTest : AgreementsTest {
  uint64_t asset = 0, prem = 0;
  std::shared_ptr<TestMeter> gen, conn;
  void SetUp() override {
    AgreementsTest::SetUp();
    asset = register_asset(owner);
    gen = asset_meters[asset];
    conn = add_meter(host, meters::Source::kConsumer);
    Premises p;
    p.area_m2 = 40;
    p.meter = conn->id;
    p.name = "metered";
    ASSERT_TRUE(tx(host, kRegisterPremises, encode(p)).ok());
    prem = get_u64(chain->store(), "agr/next/prem");
  }
  // Readings for every settlement period of billing period k: the asset generates
  // gen_wh and the premises export surplus_wh in each.
  void meter_period(const Terms& t, uint32_t k, uint64_t gen_wh, uint64_t surplus_wh) {
    uint64_t first = (t.start_ms + kPeriod * k) / kSettle;
    tick(std::max(now, (first + 3) * kSettle + 1));
    for (uint64_t p = first; p < first + 4; ++p) {
      reading(*gen, p, 0, gen_wh);
      reading(*conn, p, 100, surplus_wh);
    }
  }
};

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

TEST_F(AgreementsTest, ListingsNeedARegisteredMeterOfTheirOwn) {
  Asset a;
  a.capacity_w = 1000;
  a.meter = sha256("no such meter");
  EXPECT_EQ(tx(owner, kRegisterAsset, encode(a)).code, code(kMeterNotFound));
  auto theirs = add_meter(host, meters::Source::kPv);
  a.meter = theirs->id;
  EXPECT_EQ(tx(owner, kRegisterAsset, encode(a)).code, code(kBadListing));
  a.meter = add_meter(owner, meters::Source::kPv)->id;
  a.capacity_w = 0;
  EXPECT_EQ(tx(owner, kRegisterAsset, encode(a)).code, code(kBadListing));
  a.capacity_w = 1000;
  a.lat_e6 = 91'000'000;
  EXPECT_EQ(tx(owner, kRegisterAsset, encode(a)).code, code(kBadListing));
  EXPECT_EQ(get_u64(chain->store(), "agr/next/asset"), 0u);
  Premises huge;
  huge.area_m2 = 20'000'000'000;
  EXPECT_EQ(tx(host, kRegisterPremises, encode(huge)).code, code(kBadListing));
  huge.area_m2 = 0;
  EXPECT_EQ(tx(host, kRegisterPremises, encode(huge)).code, code(kBadListing));
  EXPECT_EQ(get_u64(chain->store(), "agr/next/prem"), 0u);
}

TEST_F(AgreementsTest, QueriesAndPayloadViews) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  Terms t = lease_to_own_template(args(asset, prem));
  uint64_t id = active(t);
  tick(due(t, 0));
  auto q = [&](const std::string& path) {
    return agreements.query(chain->store(), path, json::object());
  };
  auto a = q("agreements/" + std::to_string(id));
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ((*a)["status"], "active");
  EXPECT_EQ((*a)["terms_hash"], terms_hash(t).hex());
  EXPECT_EQ((*a)["terms"]["kind"], "lease_to_own");
  auto pays = q("agreements/" + std::to_string(id) + "/payments");
  ASSERT_EQ((*pays)["payments"].size(), 1u);
  EXPECT_EQ((*pays)["payments"][0]["due"], t.instalment_micro);
  EXPECT_EQ((*q("assets/" + std::to_string(asset)))["agreement"], id);
  EXPECT_EQ((*q("premises/" + std::to_string(prem)))["host"], host.public_key().hex());
  EXPECT_EQ((*q("ratings/" + owner.public_key().hex()))["rating"], 3000);
  EXPECT_EQ(q("agreements/99").status().code, kAgreementNotFound);
  EXPECT_EQ(q("assets/x").status().code, Code::kNotFound);
  EXPECT_EQ(q("nope").status().code, Code::kNotFound);
  json view = agreements.payload_json(kPropose, encode_terms(t));
  EXPECT_EQ(view["terms_hash"], terms_hash(t).hex());
  EXPECT_EQ(agreements.payload_json(kRate, encode(RatePayload{id, 2, 4}))["score"], 4);
  EXPECT_TRUE(agreements.payload_json(kRate, Bytes{1}).contains("undecodable"));
}

// Ratings of market trades: on a chain with the market module, a real trade cleared at the
// gate and settled from signed meter readings.
struct TradeRatingTest : ::testing::Test {
  static constexpr uint64_t P = 900'000;
  KeyPair issuer = KeyPair::generate(), operator_key = KeyPair::generate();
  KeyPair tax = KeyPair::generate(), seller = KeyPair::generate();
  KeyPair buyer = KeyPair::generate(), stranger = KeyPair::generate();
  TestMeter seller_meter, buyer_meter;
  bank::BankModule bank_module;
  meters::MetersModule meters_module;
  market::MarketModule market_module;
  AgreementsModule agreements;
  std::unique_ptr<testing::Chain> chain;
  uint64_t now = 10 * P + 5000;

  void SetUp() override {
    json genesis = {{"bank",
                     {{"issuer", issuer.public_key().hex()},
                      {"balances",
                       {{buyer.public_key().hex(), 100'000'000},
                        {seller.public_key().hex(), 1'000'000},
                        {operator_key.public_key().hex(), 1'000'000}}}}},
                    {"meters", {{"period_ms", P}, {"allow_virtual", true}}},
                    {"market",
                     {{"operator", operator_key.public_key().hex()},
                      {"tax_account", tax.public_key().hex()},
                      {"tax_ppm", 0},
                      {"retail_tariff", 300'000},
                      {"feed_in_tariff", 80'000},
                      {"settlement_deadline_ms", 2 * P},
                      {"fees", {{"mg-a", {{"mg-a", 0}}}}}}},
                    {"agreements", json::object()}};
    chain = std::make_unique<testing::Chain>(
        std::vector<Module*>{&bank_module, &meters_module, &market_module, &agreements}, genesis);
    register_meter(seller, seller_meter, meters::Source::kPv);
    register_meter(buyer, buyer_meter, meters::Source::kConsumer);
  }
  Receipt tx(const KeyPair& k, uint16_t type, Bytes payload) {
    return chain->one(k, type, std::move(payload), now += 1000);
  }
  void tick(uint64_t t) {
    now = std::max(now + 1000, t);
    chain->block({}, now);
  }
  void register_meter(const KeyPair& k, TestMeter& m, meters::Source source) {
    meters::RegisterPayload p;
    p.microgrid = "mg-a";
    p.source = source;
    p.location = "test";
    p.firmware_version = "sim";
    Bytes key(m.key.public_key().bytes.begin(), m.key.public_key().bytes.end());
    auto nonce =
        attest::attestation_nonce("test", key, meters::registration_challenge(k.public_key(), p));
    p.evidence = attest::encode_evidence(attest::make_virtual_evidence(m.key, nonce));
    auto r = tx(k, meters::kRegister, meters::encode(p));
    ASSERT_TRUE(r.ok()) << r.message;
    m.id = meters::meter_id_of(key);
  }
  void reading(TestMeter& m, uint64_t period, uint64_t import_wh, uint64_t export_wh) {
    for (uint64_t q : catch_up_periods(chain->store(), m, period)) {
      meters::Reading quiet{m.id, q, ++m.seq, 0, 0, {}};
      meters::sign_virtual(quiet, "test", m.key);
      ASSERT_TRUE(tx(stranger, meters::kReading, meters::encode(quiet)).ok());
    }
    meters::Reading r{m.id, period, ++m.seq, import_wh, export_wh, {}};
    meters::sign_virtual(r, "test", m.key);
    auto rc = tx(stranger, meters::kReading, meters::encode(r));
    ASSERT_TRUE(rc.ok()) << rc.message;
  }
  Receipt rate(const KeyPair& k, const TradeRef& t, uint8_t score) {
    return tx(k, kRateTrade, encode(RateTradePayload{t, score}));
  }
  std::map<std::string, std::string> snapshot() {
    std::map<std::string, std::string> m;
    for (const char* prefix : {"agr/", "bank/"})
      chain->store().scan(prefix, [&](std::string_view k, std::string_view v) {
        m.emplace(k, v);
        return true;
      });
    return m;
  }
};

TEST_F(TradeRatingTest, BuyerAndSellerRateEachOtherOnceAfterSettlement) {
  market::OfferPayload offer{"electricity", 12, 50'000, 100'000, seller_meter.id};
  ASSERT_TRUE(tx(seller, market::kOffer, market::encode(offer)).ok());
  market::BidPayload bid;
  bid.period = 12;
  bid.qty = 50'000;
  bid.price = 200'000;
  bid.meter = buyer_meter.id;
  ASSERT_TRUE(tx(buyer, market::kBid, market::encode(bid)).ok());
  tick(12 * P);  // the gate closes: one trade, electricity/12/0
  TradeRef trade{"electricity", 12, 0};
  auto info = market::find_trade(chain->store(), "electricity", 12, 0);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->buyer, buyer.public_key());
  EXPECT_EQ(info->seller, seller.public_key());
  EXPECT_FALSE(info->settled);

  // Cleared but not settled: no rating, nothing changes.
  auto before = snapshot();
  EXPECT_EQ(rate(buyer, trade, 5).code, code(kNoSettledInteraction));
  EXPECT_EQ(rate(seller, trade, 5).code, code(kNoSettledInteraction));
  EXPECT_EQ(snapshot(), before);

  // The period ends; the meters report: 40 kWh delivered of the 50 kWh sold.
  tick(13 * P + 1000);
  reading(seller_meter, 12, 0, 40'000);
  reading(buyer_meter, 12, 50'000, 0);
  tick(now + 1000);
  info = market::find_trade(chain->store(), "electricity", 12, 0);
  ASSERT_TRUE(info);
  ASSERT_TRUE(info->settled);
  // Settled value: the 40 kWh delivered at the trade price.
  EXPECT_EQ(info->settled_micro, 40'000 * static_cast<uint64_t>(info->price) / 1000);
  ASSERT_GT(info->settled_micro, 1'000'000u);

  // Refusals, each with its code and no change.
  before = snapshot();
  EXPECT_EQ(rate(stranger, trade, 5).code, code(kNotAParty));
  EXPECT_EQ(rate(buyer, TradeRef{"electricity", 12, 1}, 5).code, code(kTradeNotFound));
  EXPECT_EQ(rate(buyer, TradeRef{"electricity", 11, 0}, 5).code, code(kTradeNotFound));
  EXPECT_EQ(rate(buyer, TradeRef{"heat", 12, 0}, 5).code, code(kTradeNotFound));
  EXPECT_EQ(rate(buyer, trade, 0).code, code(kBadScore));
  EXPECT_EQ(rate(buyer, trade, 6).code, code(kBadScore));
  EXPECT_EQ(snapshot(), before);

  // The buyer rates the seller, once.
  auto r = rate(buyer, trade, 5);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(rate(buyer, trade, 1).code, code(kAlreadyRated));
  uint64_t weight = std::min(info->settled_micro / 1'000'000 + 1, kMaxCounterpartyWeight);
  RatingTotals seller_totals = rating_totals(chain->store(), seller.public_key());
  EXPECT_EQ(seller_totals.count, 1u);
  EXPECT_EQ(seller_totals.weight, weight);
  EXPECT_EQ(rating_milli(seller_totals), (10 * 3000 + weight * 5 * 1000) / (10 + weight));
  auto stored = find_trade_rating(chain->store(), trade, buyer.public_key());
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->score, 5);
  EXPECT_EQ(stored->ratee, seller.public_key());
  EXPECT_EQ(stored->weight, weight);
  EXPECT_FALSE(find_trade_rating(chain->store(), trade, seller.public_key()));
  // The change log names the trade and the rater (the read model follows it).
  auto log = block_log(chain->store(), *chain->store().height() - 1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].kind, LogKind::kTradeRating);
  EXPECT_EQ(log[0].trade.str(), "electricity/12/0");
  EXPECT_EQ(log[0].rater, buyer.public_key());

  // The seller rates the buyer, once.
  ASSERT_TRUE(rate(seller, trade, 2).ok());
  EXPECT_EQ(rate(seller, trade, 3).code, code(kAlreadyRated));
  RatingTotals buyer_totals = rating_totals(chain->store(), buyer.public_key());
  EXPECT_EQ(buyer_totals.count, 1u);
  EXPECT_EQ(rating_milli(buyer_totals), (10 * 3000 + weight * 2 * 1000) / (10 + weight));
  EXPECT_EQ(rating_totals(chain->store(), seller.public_key()).count, 1u);
  size_t scanned = 0;
  scan_trade_ratings(chain->store(), [&](const TradeRef& t, const PublicKey&, const TradeRating&) {
    EXPECT_EQ(t.str(), trade.str());
    ++scanned;
    return true;
  });
  EXPECT_EQ(scanned, 2u);
}

TEST(TradeRef, ParsesAndPrints) {
  auto t = TradeRef::parse("electricity/1996/3");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->commodity, "electricity");
  EXPECT_EQ(t->period, 1996u);
  EXPECT_EQ(t->index, 3u);
  EXPECT_EQ(t->str(), "electricity/1996/3");
  EXPECT_FALSE(TradeRef::parse("electricity/1996"));
  EXPECT_FALSE(TradeRef::parse("/1/2"));
  EXPECT_FALSE(TradeRef::parse("electricity/x/2"));
  EXPECT_FALSE(TradeRef::parse("electricity/1/2/3"));
  EXPECT_FALSE(TradeRef::parse("a-commodity-name-too-long/1/2"));
}

TEST(AgreementsModuleSchema, HeaderKeyTableMatchesTheDeclaredSchema) {
  AgreementsModule m;
  auto drift =
      testing::schema_drift(m, GRIDPACT_SOURCE_DIR "/src/modules/agreements/agreements.hpp");
  EXPECT_TRUE(drift.empty()) << ::testing::PrintToString(drift);
}

}  // namespace
}  // namespace gridpact::agreements

namespace gridpact::agreements {
namespace {

// The payloads' field declarations give byte for byte what the hand-written encoders
// (before codec/fields.hpp) gave, so signed transactions and fuzz corpora stay valid.
TEST(AgreementPayloads, FieldsEncodeAsTheHandWrittenEncoders) {
  TransferAssetPayload t{7, sha256("to")};
  EXPECT_EQ(encode(t), codec::Writer().u64(7).fixed(t.to).take());
  SignPayload s{8, sha256("terms")};
  EXPECT_EQ(encode(s), codec::Writer().u64(8).fixed(s.terms_hash).take());
  EXPECT_EQ(encode(IdPayload{9}), codec::Writer().u64(9).take());
  EXPECT_EQ(encode(RatePayload{1, 2, 3}), codec::Writer().u64(1).u32(2).u8(3).take());
  RateTradePayload r{{"electricity", 1996, 4}, 5};
  EXPECT_EQ(encode(r), codec::Writer().str("electricity", 16).u64(1996).u64(4).u8(5).take());

  AgreementsModule module;
  Transaction tx;
  tx.type = kRateTrade;
  tx.payload = encode(RateTradePayload{{"", 1, 1}, 5});
  EXPECT_EQ(module.check(tx).code, Code::kBadEncoding);
  tx.payload = encode(RateTradePayload{{"electricity", 1, 1}, 6});
  EXPECT_EQ(module.check(tx).code, kBadScore);
  EXPECT_EQ(module.payload_json(kRateTrade, encode(r)),
            (json{{"trade", "electricity/1996/4"}, {"score", 5}}));
  EXPECT_EQ(module.payload_json(kPay, encode(IdPayload{9})), (json{{"agreement", 9}}));
  EXPECT_EQ(module.tx_types().size(), 12u);
}

// A chain of all four modules, each doing its work (transfers, meters and readings, a trade
// cleared and settled, listings, an agreement billed, a trade rated): every receipt event is
// the canonical encoding of a type its module declares, and neither an event nor any value
// in state is JSON text.
TEST_F(TradeRatingTest, ReceiptsAndStateOfEveryModuleCarryNoJsonText) {
  ASSERT_TRUE(
      tx(buyer, bank::kTransfer, bank::encode(bank::TransferPayload{seller.public_key(), 5, "tip"}))
          .ok());
  market::OfferPayload offer{"electricity", 12, 50'000, 100'000, seller_meter.id};
  ASSERT_TRUE(tx(seller, market::kOffer, market::encode(offer)).ok());
  market::BidPayload bid;
  bid.period = 12;
  bid.qty = 50'000;
  bid.price = 200'000;
  bid.meter = buyer_meter.id;
  ASSERT_TRUE(tx(buyer, market::kBid, market::encode(bid)).ok());
  tick(12 * P);
  tick(13 * P + 1000);
  reading(seller_meter, 12, 0, 40'000);
  reading(buyer_meter, 12, 50'000, 0);
  tick(now + 1000);
  ASSERT_TRUE(rate(buyer, TradeRef{"electricity", 12, 0}, 4).ok());

  Asset a;
  a.type = AssetType::kPv;
  a.capacity_w = 5000;
  a.meter = seller_meter.id;
  a.microgrid = "mg-a";
  a.name = "roof";
  ASSERT_TRUE(tx(seller, kRegisterAsset, encode(a)).ok());
  Premises pr;
  pr.area_m2 = 40;
  pr.microgrid = "mg-a";
  pr.name = "home";
  ASSERT_TRUE(tx(buyer, kRegisterPremises, encode(pr)).ok());
  TemplateArgs args;
  args.asset = 1;
  args.premises = 1;
  args.owner = seller.public_key();
  args.host = buyer.public_key();
  args.start_ms = (now / P + 1) * P;
  args.period_ms = P;
  args.periods = 1;
  args.instalment_micro = 1000;
  Terms t = lease_to_own_template(args);
  ASSERT_TRUE(tx(seller, kPropose, encode_terms(t)).ok());
  auto signed_r = tx(buyer, kSign, encode(SignPayload{1, terms_hash(t)}));
  ASSERT_TRUE(signed_r.ok()) << signed_r.message;
  tick(args.start_ms + 10 * P);  // the period is billed at end_block

  std::vector<const Module*> modules = {&bank_module, &meters_module, &market_module, &agreements};
  std::set<std::string> seen;
  for (uint64_t h = 1; h <= *chain->store().height(); ++h)
    for (const Receipt& r : chain->store().receipts(h))
      for (const Event& e : r.events) {
        seen.insert(e.type);
        EXPECT_TRUE(json::parse(e.data, nullptr, false).is_discarded()) << e.type << ": " << e.data;
        std::optional<json> view;
        for (const Module* m : modules)
          if (e.type.starts_with(std::string(m->name()) + "/")) view = m->event_json(e);
        ASSERT_TRUE(view) << e.type << " is not a declared event type, or does not decode";
        EXPECT_TRUE(view->is_object());
      }
  for (const char* type :
       {"bank/transfer", "meters/registered", "meters/reading", "market/offer", "market/bid",
        "market/cleared", "market/settled", "agreements/rated-trade", "agreements/asset",
        "agreements/premises", "agreements/proposed", "agreements/signed", "agreements/billing"})
    EXPECT_TRUE(seen.count(type)) << type << " was not exercised";

  // Every value in state, of every module and of the engine.
  size_t values = 0;
  chain->store().scan("", [&](std::string_view k, std::string_view v) {
    ++values;
    json j = json::parse(v, nullptr, false);
    EXPECT_FALSE(j.is_object() || j.is_array() || j.is_string())
        << "JSON text at " << to_hex(reinterpret_cast<const uint8_t*>(k.data()), k.size());
    return true;
  });
  EXPECT_GT(values, 50u);
}

}  // namespace
}  // namespace gridpact::agreements

namespace gridpact::agreements {
namespace {

// One meter, one use at a time (meters.hpp, "Uses"): while a lease bills the export of an
// asset's meter, that meter cannot sell the same periods in the market, nor back a second
// agreement through another asset; after the term (or once the lease ends early) it can.
TEST_F(TradeRatingTest, NoMeteredWhIsPaidTwice) {
  auto asset_on = [&](const std::string& name) {
    Asset a;
    a.type = AssetType::kPv;
    a.capacity_w = 5000;
    a.meter = seller_meter.id;
    a.microgrid = "mg-a";
    a.price_micro_per_kwh = 150'000;
    a.name = name;
    auto r = tx(seller, kRegisterAsset, encode(a));
    EXPECT_TRUE(r.ok()) << r.message;
    return get_u64(chain->store(), "agr/next/asset");
  };
  uint64_t roof = asset_on("roof"), same_meter = asset_on("same meter, another asset");
  Premises prem;
  prem.area_m2 = 40;
  prem.name = "home";
  ASSERT_TRUE(tx(buyer, kRegisterPremises, encode(prem)).ok());
  uint64_t premises = get_u64(chain->store(), "agr/next/prem");
  auto lease = [&](uint64_t asset, uint32_t periods) {
    TemplateArgs a;
    a.asset = asset;
    a.premises = premises;
    a.owner = seller.public_key();
    a.host = buyer.public_key();
    a.start_ms = 12 * P;
    a.period_ms = P;
    a.periods = periods;
    a.price_micro_per_kwh = 200'000;
    a.volume_wh = 1000;
    return lease_template(a);
  };
  auto activate = [&](const Terms& t) {
    auto r = tx(seller, kPropose, encode_terms(t));
    EXPECT_TRUE(r.ok()) << r.message;
    uint64_t id = get_u64(chain->store(), "agr/next/agt");
    return std::pair{id, tx(buyer, kSign, encode(SignPayload{id, terms_hash(t)}))};
  };
  // The lease holds the meter's export for periods 12 and 13.
  auto [first, signed_first] = activate(lease(roof, 2));
  ASSERT_TRUE(signed_first.ok()) << signed_first.message;
  auto offer = [&](uint64_t period) {
    return tx(seller, market::kOffer,
              market::encode(
                  market::OfferPayload{"electricity", period, 1000, 100'000, seller_meter.id}));
  };
  EXPECT_EQ(offer(12).code, static_cast<uint16_t>(meters::kMeterInUse));
  EXPECT_EQ(offer(13).code, static_cast<uint16_t>(meters::kMeterInUse));
  auto [second, signed_second] = activate(lease(same_meter, 2));
  EXPECT_EQ(signed_second.code, static_cast<uint16_t>(meters::kMeterInUse));
  EXPECT_EQ(find_agreement(chain->store(), second)->status, Status8::kProposed);
  // After the term the market may have it; then the lease cannot be extended over it.
  ASSERT_TRUE(offer(14).ok());
  Terms longer = lease(roof, 3);
  ASSERT_TRUE(tx(seller, kAmend, encode(AmendPayload{first, longer})).ok());
  EXPECT_EQ(tx(buyer, kSignAmendment, encode(SignPayload{first, terms_hash(longer)})).code,
            static_cast<uint16_t>(meters::kMeterInUse));
  ASSERT_TRUE(offer(15).ok());
}

}  // namespace
}  // namespace gridpact::agreements
