// Fixtures of the market module's tests (market_test.cpp, orders_test.cpp,
// settlement_test.cpp): a real chain with the real bank and meters modules, virtual meters
// registered with attestation evidence, and signed readings. Test code only.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "attest/virtual_platform.hpp"
#include "ledger/testing.hpp"
#include "modules/bank/bank.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"

// Named, not anonymous: every test file's TEST_F must see the same fixture types.
namespace gridpact::market::test {

constexpr std::string_view kChain = "test";
constexpr uint64_t P = 900'000;  // period length

inline uint16_t code(Code c) {
  return static_cast<uint16_t>(c);
}

struct Party {
  KeyPair key = KeyPair::generate();
  KeyPair meter_key = KeyPair::generate();
  Hash32 meter;
  uint64_t reading_seq = 1;
  PublicKey pk() const { return key.public_key(); }
};

struct MarketTest : ::testing::Test {
  KeyPair issuer = KeyPair::generate();
  KeyPair operator_key = KeyPair::generate();
  KeyPair tax = KeyPair::generate();
  Party pv_a, grid_b, buyer_a, buyer_b, poor;
  bank::BankModule bank_module;
  meters::MetersModule meters_module;
  MarketModule market_module;
  std::unique_ptr<testing::Chain> chain;
  json genesis_document;         // what start() built the chain from
  uint64_t now = 10 * P + 5000;  // period 10

  void start(json market_extra = json::object()) {
    json balances = {{buyer_a.pk().hex(), 10'000'000},
                     {buyer_b.pk().hex(), 10'000'000},
                     {pv_a.pk().hex(), 1'000'000},
                     {grid_b.pk().hex(), 1'000'000},
                     {operator_key.public_key().hex(), 5'000'000},
                     {poor.pk().hex(), 10}};
    json market = {
        {"operator", operator_key.public_key().hex()},
        {"tax_account", tax.public_key().hex()},
        {"tax_ppm", 50'000},  // 5 %
        {"retail_tariff", 300'000},
        {"feed_in_tariff", 80'000},
        {"settlement_deadline_ms", 2 * P},
        {"fees",
         {{"mg-a", {{"mg-a", 0}, {"mg-b", 10'000}}}, {"mg-b", {{"mg-a", 20'000}, {"mg-b", 0}}}}}};
    for (const auto& [k, v] : market_extra.items()) market[k] = v;
    json genesis = {
        {"bank", {{"issuer", issuer.public_key().hex()}, {"balances", balances}}},
        {"meters",
         {{"period_ms", P}, {"allow_virtual", true}, {"authority", issuer.public_key().hex()}}},
        {"market", market}};
    genesis_document = genesis;
    chain = std::make_unique<testing::Chain>(
        std::vector<Module*>{&bank_module, &meters_module, &market_module}, genesis);
    register_meter(pv_a, "mg-a", meters::Source::kPv);
    register_meter(grid_b, "mg-b", meters::Source::kGrid);
    register_meter(buyer_a, "mg-a", meters::Source::kConsumer);
    register_meter(buyer_b, "mg-b", meters::Source::kConsumer);
    register_meter(poor, "mg-a", meters::Source::kConsumer);
  }

  Receipt run(const KeyPair& k, uint16_t type, Bytes payload) {
    return chain->one(k, type, std::move(payload), now += 1000);
  }

  void register_meter(Party& p, const std::string& mg, meters::Source source) {
    meters::RegisterPayload r;
    r.microgrid = mg;
    r.source = source;
    r.location = "here";
    r.firmware_version = "sim-1";
    Bytes key(p.meter_key.public_key().bytes.begin(), p.meter_key.public_key().bytes.end());
    auto nonce = attest::attestation_nonce(kChain, key, meters::registration_challenge(p.pk(), r));
    r.evidence = attest::encode_evidence(attest::make_virtual_evidence(p.meter_key, nonce));
    auto rc = run(p.key, meters::kRegister, meters::encode(r));
    ASSERT_TRUE(rc.ok()) << rc.message;
    p.meter = meters::meter_id_of(key);
  }

  // Cumulative registers at the end of `period` (initial registers are 0), after the
  // periods the meter has not reported yet with unchanged registers (a first reading counts
  // only for the registration period, meters.hpp).
  Receipt reading(Party& p, uint64_t period, uint64_t import_wh, uint64_t export_wh) {
    auto info = meters::find_meter(chain->store(), p.meter);
    auto last = meters::last_reading(chain->store(), p.meter).value_or(meters::LastReading{});
    for (uint64_t q = meters::next_contiguous_period(chain->store(), *info); q < period; ++q)
      if (Receipt rc = signed_reading(p, q, last.import_wh, last.export_wh); !rc.ok()) return rc;
    return signed_reading(p, period, import_wh, export_wh);
  }
  Receipt signed_reading(Party& p, uint64_t period, uint64_t import_wh, uint64_t export_wh) {
    meters::Reading r{p.meter, period, p.reading_seq++, import_wh, export_wh, {}};
    meters::sign_virtual(r, kChain, p.meter_key);
    return run(p.key, meters::kReading, meters::encode(r));
  }

  Receipt offer(Party& p, uint64_t period, uint64_t qty, int64_t price) {
    return run(p.key, kOffer, encode(OfferPayload{"electricity", period, qty, price, p.meter}));
  }
  Receipt bid(Party& p, uint64_t period, uint64_t qty, int64_t price, bool renewable_only = false) {
    BidPayload b;
    b.period = period;
    b.qty = qty;
    b.price = price;
    b.meter = p.meter;
    b.renewable_only = renewable_only;
    return run(p.key, kBid, encode(b));
  }
  static Hash32 id_of(const Receipt& r, const Transaction& tx) {
    (void)r;
    return tx.id();
  }

  json query(const std::string& path, json params = json::object()) {
    auto r = market_module.query(chain->store(), path, params);
    EXPECT_TRUE(r) << r.status().to_string();
    return r ? *r : json();
  }
  uint64_t bal(const Party& p) { return bank::balance(chain->store(), p.pk()); }
  uint64_t bal(const KeyPair& k) { return bank::balance(chain->store(), k.public_key()); }

  // Sum of balances and escrows straight from state: must equal the supply.
  uint64_t holdings() { return bank::holdings(chain->store()); }
  std::map<std::string, std::string> snapshot() {
    std::map<std::string, std::string> m;
    for (const char* prefix : {"market/", "bank/"})
      chain->store().scan(prefix, [&](std::string_view k, std::string_view v) {
        m.emplace(k, v);
        return true;
      });
    return m;
  }
  // Advances block time to `t` with an empty block (end_block runs).
  void tick(uint64_t t) {
    now = std::max(now + 1000, t);
    chain->block({}, now);
  }
};

}  // namespace gridpact::market::test
