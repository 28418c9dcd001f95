// The tokens module on a real chain with the real bank, meters, market and agreements
// modules: virtual meters registered with attestation evidence, signed readings, a market
// that clears and settles.
#include <gtest/gtest.h>

#include "modules/tokens/fixtures.hpp"

namespace gridpact::tokens::test {
namespace {

TEST_F(TokensTest, SchemaMatchesHeader) {
  TokensModule m(1);
  auto drift = testing::schema_drift(m, GRIDPACT_SOURCE_DIR "/src/modules/tokens/tokens.hpp");
  EXPECT_TRUE(drift.empty()) << drift.front();
}

TEST_F(TokensTest, MintsSettledRenewableExportOnce) {
  start();
  Party a = party();
  add_meter(a, "mg", Source::kPv);
  tick(now + 1000);  // the first block after genesis sets where minting starts: period 10
  reading(a, 0, 10, 2000);
  tick(12 * P - 1);  // period 10 ends at 11P; final one deadline (P) later, at 12P ...
  EXPECT_EQ(tokens(a), 0u) << "minted before the period was final";
  tick(12 * P);  // ... in the first block at or after it
  // One source, alone in its microgrid: base rate 1 token per kWh, factors 1.
  EXPECT_EQ(tokens(a), 2 * kMicroPerToken);
  auto r = minted(a, 0, 10);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->wh, 2000u);
  EXPECT_TRUE(r->is_virtual);
  EXPECT_EQ(r->rate, kMicroPerToken);
  // The queries: history by source and period, the mint's factors, the microgrid's mix.
  auto q = [&](const std::string& path, json params = json::object()) {
    auto answer = tokens_module->query(chain->store(), path, params);
    EXPECT_TRUE(answer) << path << ": " << answer.status().to_string();
    return answer ? *answer : json();
  };
  json h = q("history/" + a.pk().hex());
  ASSERT_EQ(h["entries"].size(), 1u);
  EXPECT_EQ(h["entries"][0]["source"], "pv");
  EXPECT_EQ(h["by_source"]["pv"]["amount"], 2 * kMicroPerToken);
  EXPECT_EQ(h["by_period"]["10"]["pv"], 2 * kMicroPerToken);
  EXPECT_EQ(q("history/" + a.pk().hex(), {{"from", "11"}})["entries"].size(), 0u);
  EXPECT_EQ(q("mint/" + a.meters[0].id.hex() + "/10")["rate_per_kwh"], kMicroPerToken);
  json mg = q("microgrid/mg", {{"account", a.pk().hex()}});
  EXPECT_EQ(mg["period"], 10u);
  EXPECT_EQ(mg["sources"]["pv"]["share_ppm"], kPpm);
  EXPECT_EQ(mg["sources"]["wind"]["scarcity_factor_ppm"], 2 * kPpm);
  EXPECT_EQ(mg["account"]["sources"], 1u);
  EXPECT_EQ(q("balance/" + a.pk().hex())["balance"], 2 * kMicroPerToken);
  EXPECT_EQ(q("supply")["held"], 2 * kMicroPerToken);
  EXPECT_EQ(q("params")["window_periods"], 96u);
  EXPECT_FALSE(tokens_module->query(chain->store(), "balance/zz", json::object()));
  tick(20 * P);  // later blocks mint nothing again
  EXPECT_EQ(tokens(a), 2 * kMicroPerToken);
  EXPECT_EQ(supply(chain->store()).minted, 2 * kMicroPerToken);
  expect_invariants();
}

TEST_F(TokensTest, NonRenewableRevokedAndVirtualEnergyMintsNothing) {
  start();
  Party batt = party(), grid = party(), home = party(), gone = party(), ok = party();
  add_meter(batt, "mg", Source::kBattery);
  add_meter(grid, "mg", Source::kGrid);
  add_meter(home, "mg", Source::kConsumer);
  add_meter(gone, "mg", Source::kWind);
  add_meter(ok, "mg", Source::kPv);
  tick(now + 1000);
  for (Party* p : {&batt, &grid, &home, &gone, &ok}) reading(*p, 0, 10, 1000);
  auto rc =
      run(gone.key, meters::kRevoke, meters::encode(meters::RevokePayload{gone.meters[0].id}));
  ASSERT_TRUE(rc.ok()) << rc.message;
  finalize(10);
  EXPECT_EQ(tokens(batt), 0u);
  EXPECT_EQ(tokens(grid), 0u);
  EXPECT_EQ(tokens(home), 0u);
  EXPECT_EQ(tokens(gone), 0u);
  EXPECT_FALSE(minted(gone, 0, 10));
  EXPECT_GT(tokens(ok), 0u);
  expect_invariants();
}

TEST_F(TokensTest, VirtualMetersMintOnlyWhereGenesisAllows) {
  start(json::object(), 1, /*allow_virtual=*/false);
  Party a = party();
  add_meter(a, "mg", Source::kPv);
  tick(now + 1000);
  reading(a, 0, 10, 1000);
  finalize(10);
  EXPECT_EQ(tokens(a), 0u);
  EXPECT_FALSE(minted(a, 0, 10));
}

TEST_F(TokensTest, UnsettledMarketPeriodWaits) {
  start();
  Party seller = party(), buyer = party();
  add_meter(seller, "mg", Source::kPv);
  add_meter(buyer, "mg", Source::kConsumer);
  ASSERT_TRUE(
      run(issuer, bank::kMint, bank::encode(bank::MintPayload{buyer.pk(), 10'000'000})).ok());
  tick(now + 1000);
  ASSERT_TRUE(run(seller.key, market::kOffer,
                  market::encode(
                      market::OfferPayload{"electricity", 11, 1000, 50'000, seller.meters[0].id}))
                  .ok());
  market::BidPayload b;
  b.period = 11;
  b.qty = 1000;
  b.price = 100'000;
  b.meter = buyer.meters[0].id;
  ASSERT_TRUE(run(buyer.key, market::kBid, market::encode(b)).ok());
  tick(11 * P + 10);  // cleared at the gate
  reading(seller, 0, 11, 1000);
  // The buyer's reading is missing: the market waits until its deadline (12P + P).
  tick(13 * P - 10);
  EXPECT_EQ(tokens(seller), 0u);
  tick(13 * P + 1);
  EXPECT_EQ(tokens(seller), kMicroPerToken);
  expect_invariants();
}

// Rate per kWh of a meter's mint in a period.
uint64_t rate(const std::optional<MintRecord>& r) {
  return r ? r->rate : 0;
}

TEST_F(TokensTest, SecondSourceRaisesTheOwnersRewardPerKwh) {
  start();
  Party pv_only = party(), pv_wind = party();
  add_meter(pv_only, "mg", Source::kPv);
  add_meter(pv_wind, "mg", Source::kPv);
  add_meter(pv_wind, "mg", Source::kWind);
  tick(now + 1000);
  reading(pv_only, 0, 10, 1000);
  reading(pv_wind, 0, 10, 1000);
  reading(pv_wind, 1, 10, 1000);
  finalize(10);
  // Same source, same microgrid: only the owner factor differs.
  auto a = minted(pv_only, 0, 10), b = minted(pv_wind, 0, 10);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->sources, 1u);
  EXPECT_EQ(b->sources, 2u);
  EXPECT_GT(rate(b), rate(a));
  EXPECT_EQ(b->owner_factor_ppm, kPpm + 250'000);
  // And per kWh over everything each exported.
  EXPECT_GT(tokens(pv_wind) / 2, tokens(pv_only));
}

TEST_F(TokensTest, SourceTheMicrogridLacksEarnsMorePerKwh) {
  start();
  Party pv1 = party(), pv2 = party(), pv3 = party(), wind = party();
  for (Party* p : {&pv1, &pv2, &pv3}) add_meter(*p, "mg", Source::kPv);
  add_meter(wind, "mg", Source::kWind);
  tick(now + 1000);
  for (Party* p : {&pv1, &pv2, &pv3}) reading(*p, 0, 10, 3000);
  reading(wind, 0, 10, 1000);
  finalize(10);
  auto w = minted(wind, 0, 10), p = minted(pv1, 0, 10);
  ASSERT_TRUE(w && p);
  EXPECT_EQ(w->share_ppm, 100'000u);  // 1000 of 10000 Wh
  EXPECT_EQ(p->scarcity_factor_ppm, kPpm);
  // 1e6 + 1e6 x (250000 - 100000) / 250000
  EXPECT_EQ(w->scarcity_factor_ppm, 1'600'000u);
  EXPECT_GT(rate(w), rate(p));
  EXPECT_EQ(tokens(wind), 1'600'000u);
  EXPECT_EQ(tokens(pv1), 3'000'000u);
}

// docs/tokens.md, "Worked example", figure for figure.
TEST_F(TokensTest, WorkedExampleOfTheDocs) {
  for (bool capped : {false, true}) {
    now = 10 * P + 5000;
    start(capped ? json{{"epoch_cap", 6'000'000}} : json::object());
    Party alice = party(), bob = party(), carol = party();
    add_meter(alice, "north", Source::kPv);
    add_meter(bob, "north", Source::kPv);
    add_meter(bob, "north", Source::kWind);
    add_meter(carol, "north", Source::kPv);
    tick(now + 1000);
    reading(alice, 0, 10, 4000);
    reading(bob, 0, 10, 3000);
    reading(bob, 1, 10, 1000);
    reading(carol, 0, 10, 2000);
    finalize(10);
    if (!capped) {
      EXPECT_EQ(tokens(alice), 4'000'000u);
      EXPECT_EQ(rate(minted(bob, 0, 10)), 1'250'000u);
      EXPECT_EQ(rate(minted(bob, 1, 10)), 2'000'000u);
      EXPECT_EQ(tokens(bob), 5'750'000u);
      EXPECT_EQ(tokens(carol), 2'000'000u);
    } else {
      EXPECT_EQ(tokens(alice), 2'042'553u);
      EXPECT_EQ(minted(bob, 0, 10)->amount, 1'914'893u);
      EXPECT_EQ(minted(bob, 1, 10)->amount, 1'021'276u);
      EXPECT_EQ(tokens(carol), 1'021'276u);
      EXPECT_EQ(supply(chain->store()).minted, 5'999'998u);
    }
    expect_invariants();
  }
}

TEST_F(TokensTest, AgreementSharesTokensBetweenOwnerAndHost) {
  // No token share term: shared like the energy revenue, the host gets the lease's
  // rebate share, the owner the rest (the energy revenue shares: all to the owner).
  start();
  Party owner = party(), host = party();
  uint64_t id = lease(owner, host, std::nullopt);
  ASSERT_NE(id, 0u);
  tick(now + 1000);
  reading(owner, 0, 10, 1000);
  finalize(10);
  EXPECT_EQ(tokens(host), 200'000u);
  EXPECT_EQ(tokens(owner), 800'000u);
  EXPECT_EQ(minted(owner, 0, 10)->agreement, id);
  json h = *tokens_module->query(chain->store(), "history/" + host.pk().hex(), json::object());
  ASSERT_EQ(h["entries"].size(), 1u);
  EXPECT_EQ(h["entries"][0]["agreement"], id);
  EXPECT_EQ(h["entries"][0]["amount"], 200'000u);
  json o = *tokens_module->query(chain->store(), "history/" + owner.pk().hex(), json::object());
  ASSERT_EQ(o["entries"].size(), 1u);
  EXPECT_EQ(o["entries"][0]["amount"], 800'000u);
  expect_invariants();
}

TEST_F(TokensTest, AnExplicitTokenShareTermIsHonoured) {
  start();
  Party owner = party(), host = party();
  uint16_t refusal = 0;
  EXPECT_EQ(lease(owner, host, 10'001, &refusal), 0u);  // above 100 %
  EXPECT_EQ(refusal, static_cast<uint16_t>(agreements::kBadTokenShare));
  uint64_t id = lease(owner, host, 3500);  // 35 % of the tokens, whatever the rent rebate
  ASSERT_NE(id, 0u);
  EXPECT_EQ(*agreements::find_terms(chain->store(), id)->host_token_share_bps, 3500);
  tick(now + 1000);
  reading(owner, 0, 10, 1000);
  finalize(10);
  EXPECT_EQ(tokens(host), 350'000u);
  EXPECT_EQ(tokens(owner), 650'000u);
  expect_invariants();
}

TEST_F(TokensTest, SplittingOneSourceOverMetersOrAccountsGainsNothing) {
  start();
  // Three microgrids alike but for how 3000 Wh of pv is split; each also has 1000 Wh of
  // wind, so the scarcity factors are in play.
  Party one = party(), many_meters = party();
  std::vector<Party> many_accounts = {party(), party(), party()};
  std::vector<Party> winds = {party(), party(), party()};
  add_meter(one, "mg1", Source::kPv);
  for (int i = 0; i < 3; ++i) add_meter(many_meters, "mg2", Source::kPv);
  for (auto& p : many_accounts) add_meter(p, "mg3", Source::kPv);
  for (int i = 0; i < 3; ++i)
    add_meter(winds[static_cast<size_t>(i)], "mg" + std::to_string(i + 1), Source::kWind);
  tick(now + 1000);
  reading(one, 0, 10, 3000);
  for (size_t i = 0; i < 3; ++i) reading(many_meters, i, 10, 1000);
  for (auto& p : many_accounts) reading(p, 0, 10, 1000);
  for (auto& p : winds) reading(p, 0, 10, 1000);
  finalize(10);
  uint64_t split_accounts = 0;
  for (auto& p : many_accounts) split_accounts += tokens(p);
  EXPECT_GT(tokens(one), 0u);
  EXPECT_EQ(tokens(many_meters), tokens(one));
  EXPECT_EQ(split_accounts, tokens(one));
  for (auto& p : winds) EXPECT_EQ(tokens(p), tokens(winds[0]));
}

TEST_F(TokensTest, EpochCapScalesAPeriodProRata) {
  start({{"epoch_cap", 1'500'000}, {"epoch_periods", 4}});
  Party a = party(), b = party();
  add_meter(a, "mg", Source::kPv);
  add_meter(b, "mg", Source::kPv);
  tick(now + 1000);
  reading(a, 0, 10, 1000);  // 1,000,000 uncapped
  reading(b, 0, 10, 2000);  // 2,000,000 uncapped
  finalize(10);
  EXPECT_EQ(tokens(a), 500'000u);
  EXPECT_EQ(tokens(b), 1'000'000u);
  // The epoch (periods 8-11) is full: period 11 mints nothing; period 12 starts a new one.
  reading(a, 0, 11, 1000);
  finalize(11);
  EXPECT_EQ(tokens(a), 500'000u);
  reading(a, 0, 12, 1000);
  finalize(12);
  EXPECT_EQ(tokens(a), 1'500'000u);
  expect_invariants();
}

TEST_F(TokensTest, SameStateForAnyNumberOfThreads) {
  std::map<std::string, std::string> first;
  for (size_t workers : {1, 4}) {
    next_key = 100;
    now = 10 * P + 5000;
    start(json::object(), workers);
    std::vector<Party> parties;
    for (int i = 0; i < 40; ++i) parties.push_back(party());
    std::vector<Transaction> regs;
    const Source kinds[] = {Source::kPv, Source::kWind, Source::kHydro, Source::kBiomass};
    for (size_t i = 0; i < parties.size(); ++i)
      for (size_t j = 0; j <= i % 4; ++j)
        regs.push_back(registration(parties[i], "mg" + std::to_string(i % 3), kinds[(i + j) % 4]));
    for (const auto& rc : chain->block(regs, now += 1000)) ASSERT_TRUE(rc.ok()) << rc.message;
    std::vector<Transaction> reads;
    for (auto& p : parties)
      for (size_t j = 0; j < p.meters.size(); ++j)
        reads.push_back(reading_tx(p, j, 10, 500 + 37 * j + p.pk().bytes[0]));
    for (const auto& rc : chain->block(reads, now += 1000)) ASSERT_TRUE(rc.ok()) << rc.message;
    finalize(10);
    auto snap = snapshot("tokens/");
    EXPECT_GT(supply(chain->store()).minted, 0u);
    if (workers == 1)
      first = snap;
    else
      EXPECT_EQ(snap, first);
    expect_invariants();
  }
}

}  // namespace
}  // namespace gridpact::tokens::test
