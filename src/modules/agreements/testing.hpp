// Fixtures of the agreements module's tests (agreements_test.cpp, listings_test.cpp,
// ratings_test.cpp): a test chain with the bank, meters and agreements modules, and one
// with the market for ratings of real trades. Test code only.
#pragma once

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "attest/virtual_platform.hpp"
#include "ledger/executor.hpp"
#include "ledger/testing.hpp"
#include "modules/agreements/agreements.hpp"
#include "modules/agreements/match.hpp"
#include "modules/agreements/records.hpp"  // encode_asset_state: many listings at once
#include "modules/bank/bank.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"

// Named, not anonymous: every test file's TEST_F must see the same fixture types.
namespace gridpact::agreements::test {

inline uint16_t code(Code c) {
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
inline std::vector<uint64_t> catch_up_periods(const StateReader& s, const TestMeter& m,
                                              uint64_t period) {
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

}  // namespace gridpact::agreements::test
