// Fixtures of the tokens module's tests (tokens_test.cpp, spend_test.cpp): a real chain
// with the real bank, meters, market and agreements modules, virtual meters registered with
// attestation evidence, signed readings, a market that clears and settles. Test code only.
#pragma once

#include <gtest/gtest.h>

#include "attest/virtual_platform.hpp"
#include "ledger/testing.hpp"
#include "modules/agreements/agreements.hpp"
#include "modules/bank/bank.hpp"
#include "modules/governance/governance.hpp"
#include "modules/market/market.hpp"
#include "modules/tokens/tokens.hpp"

// Named, not anonymous: every test file's TEST_F must see the same fixture types.
namespace gridpact::tokens::test {

constexpr std::string_view kChain = "test";
constexpr uint64_t P = 900'000;  // period length; the market's settlement deadline too
using meters::Source;

inline uint16_t code(Code c) {
  return static_cast<uint16_t>(c);
}

inline KeyPair key(uint64_t n) {
  FixedBytes<32> seed{};
  for (int i = 0; i < 8; ++i)
    seed.bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(n >> (8 * i));
  seed.bytes[31] = 0x7e;
  return KeyPair::from_seed(seed);
}

struct Meter {
  KeyPair key;
  Hash32 id;
  uint64_t seq = 1, exported = 0, imported = 0;
};
struct Party {
  KeyPair key;
  std::vector<Meter> meters;
  PublicKey pk() const { return key.public_key(); }
};

struct TokensTest : ::testing::Test {
  KeyPair issuer = key(1), operator_key = key(2), sponsor = key(3);
  uint64_t next_key = 100;
  bank::BankModule bank_module;
  meters::MetersModule meters_module;
  market::MarketModule market_module;
  agreements::AgreementsModule agreements_module{1};
  governance::GovernanceModule governance_module;
  std::unique_ptr<TokensModule> tokens_module;
  std::unique_ptr<testing::Chain> chain;
  uint64_t now = 10 * P + 5000;  // period 10

  void start(json tokens = json::object(), size_t workers = 1, bool allow_virtual = true) {
    tokens_module = std::make_unique<TokensModule>(workers);
    tokens["allow_virtual"] = allow_virtual;
    json genesis = {
        {"bank",
         {{"issuer", issuer.public_key().hex()},
          {"balances",
           {{sponsor.public_key().hex(), 100'000'000},
            {operator_key.public_key().hex(), 1'000'000}}}}},
        {"meters",
         {{"period_ms", P}, {"allow_virtual", true}, {"authority", issuer.public_key().hex()}}},
        {"market", {{"operator", operator_key.public_key().hex()}, {"settlement_deadline_ms", P}}},
        {"tokens", tokens},
        {"governance",
         {{"members",
           {issuer.public_key().hex(), operator_key.public_key().hex(),
            sponsor.public_key().hex()}},
          {"threshold", 2},
          {"validators", {issuer.public_key().hex()}}}}};
    chain = std::make_unique<testing::Chain>(
        std::vector<Module*>{&bank_module, &agreements_module, &meters_module, &market_module,
                             tokens_module.get(), &governance_module},
        genesis, std::string(kChain));
  }

  Party party() { return Party{key(next_key++), {}}; }

  Transaction registration(Party& p, const std::string& mg, Source source) {
    Meter m{key(next_key++), {}};
    meters::RegisterPayload r;
    r.microgrid = mg;
    r.source = source;
    r.location = "roof";
    r.firmware_version = "sim-1";
    Bytes k(m.key.public_key().bytes.begin(), m.key.public_key().bytes.end());
    auto nonce = attest::attestation_nonce(kChain, k, meters::registration_challenge(p.pk(), r));
    r.evidence = attest::encode_evidence(attest::make_virtual_evidence(m.key, nonce));
    m.id = meters::meter_id_of(k);
    p.meters.push_back(m);
    return chain->sign(p.key, meters::kRegister, meters::encode(r));
  }
  void add_meter(Party& p, const std::string& mg, Source source) {
    auto rc = chain->block({registration(p, mg, source)}, now += 1000).at(0);
    ASSERT_TRUE(rc.ok()) << rc.message;
  }
  Transaction reading_tx(Party& p, size_t i, uint64_t period, uint64_t export_wh,
                         uint64_t import_wh = 0) {
    Meter& m = p.meters.at(i);
    m.exported += export_wh;
    m.imported += import_wh;
    meters::Reading r{m.id, period, m.seq++, m.imported, m.exported, {}};
    meters::sign_virtual(r, kChain, m.key);
    return chain->sign(p.key, meters::kReading, meters::encode(r));
  }
  // A reading of `period`, after the periods the meter has not reported yet with unchanged
  // registers (a first reading counts only for the registration period, meters.hpp).
  void reading(Party& p, size_t i, uint64_t period, uint64_t export_wh, uint64_t import_wh = 0) {
    auto info = meters::find_meter(chain->store(), p.meters.at(i).id);
    ASSERT_TRUE(info);
    for (uint64_t q = meters::next_contiguous_period(chain->store(), *info); q < period; ++q) {
      auto rc = chain->block({reading_tx(p, i, q, 0, 0)}, now += 1000).at(0);
      ASSERT_TRUE(rc.ok()) << rc.message;
    }
    auto rc = chain->block({reading_tx(p, i, period, export_wh, import_wh)}, now += 1000).at(0);
    ASSERT_TRUE(rc.ok()) << rc.message;
  }
  Receipt run(const KeyPair& k, uint16_t type, Bytes payload) {
    return chain->one(k, type, std::move(payload), now += 1000);
  }
  // Advances block time to `t` with an empty block (end_block runs).
  void tick(uint64_t t) {
    now = std::max(now + 1000, t);
    chain->block({}, now);
  }
  // Past the point where `period` is final: its end plus the settlement deadline.
  // A leased system on a host's roof, 20 % of whose energy revenue returns to the host as
  // rent; `token_share`: the terms' host_token_share_bps. Returns the agreement's id (0
  // when the proposal is refused; `refusal` gets its code).
  uint64_t lease(Party& owner, Party& host, std::optional<uint16_t> token_share,
                 uint16_t* refusal = nullptr) {
    if (owner.meters.empty()) {  // the first lease: the meter, the asset and the roof
      add_meter(owner, "mg", Source::kPv);
      agreements::Asset a;
      a.type = agreements::AssetType::kPv;
      a.capacity_w = 5000;
      a.meter = owner.meters[0].id;
      a.microgrid = "mg";
      a.price_micro_per_kwh = 150'000;
      a.name = "roof pv";
      EXPECT_TRUE(run(owner.key, agreements::kRegisterAsset, agreements::encode(a)).ok());
      agreements::Premises pr;
      pr.area_m2 = 40;
      pr.microgrid = "mg";
      pr.name = "farmhouse";
      EXPECT_TRUE(run(host.key, agreements::kRegisterPremises, agreements::encode(pr)).ok());
    }
    agreements::TemplateArgs args;
    args.asset = get_u64(chain->store(), "agr/next/asset");
    args.premises = get_u64(chain->store(), "agr/next/prem");
    args.owner = owner.pk();
    args.host = host.pk();
    args.start_ms = 11 * P;
    args.period_ms = P;
    args.periods = 10;
    args.price_micro_per_kwh = 200'000;
    args.rebate_bps = 2000;  // 20 % of the energy revenue returns to the host
    auto terms = agreements::lease_template(args);
    terms.host_token_share_bps = token_share;
    auto r = run(owner.key, agreements::kPropose, agreements::encode_terms(terms));
    if (refusal) *refusal = r.code;
    if (!r.ok()) return 0;
    uint64_t id = get_u64(chain->store(), "agr/next/agt");
    EXPECT_TRUE(run(host.key, agreements::kSign,
                    agreements::encode(agreements::SignPayload{id, agreements::terms_hash(terms)}))
                    .ok());
    EXPECT_EQ(agreements::find_agreement(chain->store(), id)->status, agreements::Status8::kActive);
    return id;
  }
  void finalize(uint64_t period) { tick((period + 2) * P + 1); }

  uint64_t tokens(const Party& p) { return balance(chain->store(), p.pk()); }
  std::optional<MintRecord> minted(const Party& p, size_t i, uint64_t period) {
    return mint_record(chain->store(), p.meters.at(i).id, period);
  }
  void expect_invariants() {
    Supply s = supply(chain->store());
    EXPECT_EQ(s.minted - s.burned, holdings(chain->store()));
    PoolTotals t = pool_totals(chain->store());
    EXPECT_EQ(t.funded - t.redeemed - t.reimbursed - t.drained, pool_balance(chain->store()));
    EXPECT_EQ(bank::supply(chain->store()), bank::holdings(chain->store()));
  }
  std::map<std::string, std::string> snapshot(const char* prefix) {
    std::map<std::string, std::string> m;
    chain->store().scan(prefix, [&](std::string_view k, std::string_view v) {
      m.emplace(k, v);
      return true;
    });
    return m;
  }
};

}  // namespace gridpact::tokens::test
