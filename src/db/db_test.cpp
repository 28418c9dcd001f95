// The read model against SQLite and against a real PostgreSQL server that the test starts
// on a free loopback port (initdb in a temporary directory; as root, run as `postgres`).
#include <gtest/gtest.h>

#include "db/fixtures.hpp"

namespace gridpact::db::test {
namespace {

using namespace agreements;

TEST_P(ReadModelTest, MirrorsTheChainAndVerifies) {
  scenario();
  trade_scenario();
  auto m = open(url());
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());
  EXPECT_EQ(*m->last_height(), height());
  auto v = m->verify(chain->store());
  ASSERT_TRUE(v.is_ok()) << v.status().message;
  EXPECT_TRUE((*v)["ok"].get<bool>()) << v->dump(2);
  EXPECT_EQ((*v)["tables"]["assets"]["db"], 5);
  EXPECT_EQ((*v)["tables"]["agreements"]["db"], 2);
  EXPECT_GE((*v)["tables"]["payments"]["db"].get<int>(), 4);
  EXPECT_EQ((*v)["tables"]["ratings"]["db"], 2);
  EXPECT_EQ((*v)["tables"]["trade_ratings"]["db"], 2);
  auto rows = m->sql().query("SELECT rater, ratee, score FROM trade_ratings ORDER BY score", {});
  ASSERT_TRUE(rows.is_ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0][0], owner.public_key().hex());
  EXPECT_EQ((*rows)[0][1], host.public_key().hex());
  EXPECT_EQ((*rows)[0][2], "4");
  // A tampered trade rating is reported.
  ASSERT_TRUE(m->sql().exec("UPDATE trade_ratings SET score = 1 WHERE score = 5", {}).is_ok());
  auto tampered = m->verify(chain->store());
  ASSERT_TRUE(tampered.is_ok());
  EXPECT_FALSE((*tampered)["ok"].get<bool>());
  EXPECT_EQ((*tampered)["difference_count"], 1);
  // The chain's state and the SQL tables agree on an agreement's payments.
  auto pays = m->payments_of(1);
  ASSERT_TRUE(pays.is_ok());
  ASSERT_EQ((*pays)["payments"].size(), 2u);
  EXPECT_EQ((*pays)["payments"][0]["due"], 100'000'000);
  EXPECT_EQ((*pays)["payments"][0]["status"], "paid");
  auto mine = m->agreements_of(host.public_key().hex());
  EXPECT_EQ((*mine)["agreements"].size(), 2u);
}

TEST_P(ReadModelTest, MirrorsTokensAndVerifies) {
  trade_scenario();  // the host's pv meter exports 1000 Wh in a settled period
  auto m = open(url());
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());
  // Minting waits for the market's settlement deadline (an hour) after the period.
  for (int i = 0; i < 100 && tokens::supply(chain->store()).minted == 0; ++i) {
    now += 100'000;
    chain->block({}, now);
  }
  const uint64_t minted = tokens::supply(chain->store()).minted;
  ASSERT_GT(minted, 0u);
  ASSERT_EQ(tokens::balance(chain->store(), host.public_key()), minted);
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());  // the block log, incrementally
  tx(host, tokens::kTransfer, tokens::encode(tokens::TransferPayload{owner.public_key(), 300, ""}));
  tx(owner, tokens::kFundPool, tokens::encode(tokens::FundPoolPayload{1'000'000}));
  tx(host, tokens::kRedeem, tokens::encode(tokens::RedeemPayload{100'000}));
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());
  auto v = m->verify(chain->store());
  ASSERT_TRUE(v.is_ok()) << v.status().message;
  EXPECT_TRUE((*v)["ok"].get<bool>()) << v->dump(2);
  EXPECT_EQ((*v)["tables"]["token_balances"]["db"], 2);
  EXPECT_EQ((*v)["tables"]["token_mints"]["db"], 1);
  EXPECT_EQ((*v)["tables"]["token_pool"]["db"], 1);
  auto rows = m->sql().query("SELECT account, source, wh, amount FROM token_mints", {});
  ASSERT_TRUE(rows.is_ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0], host.public_key().hex());
  EXPECT_EQ((*rows)[0][1], "pv");
  EXPECT_EQ((*rows)[0][2], "1000");
  EXPECT_EQ((*rows)[0][3], std::to_string(minted));
  auto bal = m->sql().query("SELECT balance FROM token_balances WHERE account = $1",
                            {owner.public_key().hex()});
  ASSERT_TRUE(bal.is_ok());
  ASSERT_EQ(bal->size(), 1u);
  EXPECT_EQ((*bal)[0][0], "300");
  auto pool = m->sql().query("SELECT pool_balance, funded, redeemed, burned FROM token_pool", {});
  ASSERT_TRUE(pool.is_ok());
  ASSERT_EQ(pool->size(), 1u);
  EXPECT_EQ((*pool)[0][0], std::to_string(1'000'000 - 10'000));  // 0.1 token at 100,000/token
  EXPECT_EQ((*pool)[0][1], "1000000");
  EXPECT_EQ((*pool)[0][2], "10000");
  EXPECT_EQ((*pool)[0][3], "100000");
  // A tampered balance and a missing mint are reported.
  ASSERT_TRUE(m->sql()
                  .exec("UPDATE token_balances SET balance = 1 WHERE account = $1",
                        {owner.public_key().hex()})
                  .is_ok());
  ASSERT_TRUE(m->sql().exec("DELETE FROM token_mints", {}).is_ok());
  auto tampered = m->verify(chain->store());
  ASSERT_TRUE(tampered.is_ok());
  EXPECT_EQ((*tampered)["difference_count"], 2);
}

TEST_P(ReadModelTest, VerifyReportsTamperedMissingAndExtraRows) {
  scenario();
  auto m = open(url());
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());
  ASSERT_TRUE(
      m->sql().exec("UPDATE payments SET due = 1 WHERE agreement = 1 AND period = 0", {}).is_ok());
  ASSERT_TRUE(m->sql().exec("DELETE FROM assets WHERE id = 3", {}).is_ok());
  ASSERT_TRUE(m->sql().exec("INSERT INTO ratings VALUES (9, 9, 'x', 'y', 1)", {}).is_ok());
  auto v = m->verify(chain->store());
  ASSERT_TRUE(v.is_ok());
  EXPECT_FALSE((*v)["ok"].get<bool>());
  EXPECT_EQ((*v)["difference_count"], 3);
  std::string text = v->dump();
  EXPECT_NE(text.find("\"missing\""), std::string::npos);
  EXPECT_NE(text.find("\"unexpected\""), std::string::npos);
  EXPECT_NE(text.find("\"found\""), std::string::npos);
}

TEST_P(ReadModelTest, ResumesAfterACrashWithoutGapsOrDuplicates) {
  std::string u = url();
  scenario();
  uint64_t mid = height() / 2;
  {
    auto m = open(u);
    ASSERT_TRUE(m->catch_up(chain->store(), mid).is_ok());
    EXPECT_EQ(*m->last_height(), mid);
  }  // "crash": the connection goes away between blocks
  // A block whose SQL fails half-way leaves nothing behind: its rows and last_height roll back.
  {
    auto m = open(u);
    ASSERT_TRUE(m->sql().exec_script("ALTER TABLE ratings RENAME TO ratings_gone").is_ok());
    Status s = m->catch_up(chain->store(), height());
    EXPECT_FALSE(s.is_ok());
    uint64_t stuck = *m->last_height();
    EXPECT_LT(stuck, height());
    EXPECT_GE(stuck, mid);
    ASSERT_TRUE(m->sql().exec_script("ALTER TABLE ratings_gone RENAME TO ratings").is_ok());
    auto rows = m->sql().query("SELECT COUNT(*) FROM ratings", {});
    EXPECT_EQ(rows->at(0).at(0), "0");
  }
  auto m = open(u);
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());
  EXPECT_EQ(*m->last_height(), height());
  auto v = m->verify(chain->store());
  EXPECT_TRUE((*v)["ok"].get<bool>()) << v->dump(2);
  // Catching up again applies nothing twice.
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());
  auto n = m->sql().query("SELECT COUNT(*) FROM payments", {});
  EXPECT_EQ(n->at(0).at(0), std::to_string((*v)["tables"]["payments"]["chain"].get<int>()));
}

TEST_P(ReadModelTest, MatchingAndSearchAgreeWithTheStateQuery) {
  scenario();
  // More listings, some out of range.
  for (uint64_t i = 0; i < 20; ++i) {
    Asset a;
    a.type = AssetType::kPv;
    a.capacity_w = 500 + 250 * i;
    a.meter = add_meter(owner);
    a.lat_e6 = 47'000'000 + static_cast<int64_t>(i) * 20'000;  // every ~2.2 km north
    a.lon_e6 = 8'000'000;
    tx(owner, kRegisterAsset, encode(a));
  }
  auto m = open(url());
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());
  for (json params : {json{{"premises", "1"}}, json{{"premises", "1"}, {"radius_km", "10"}},
                      json{{"premises", "1"}, {"min_w", "1000"}, {"max_w", "3000"}},
                      json{{"premises", "1"}, {"min_rating", "3100"}}}) {
    MatchFilter f;
    ASSERT_TRUE(f.parse(params).is_ok());
    auto sql = m->match(1, f);
    ASSERT_TRUE(sql.is_ok()) << sql.status().message;
    auto state = agreements_module.query(chain->store(), "match", params);
    ASSERT_TRUE(state.is_ok());
    EXPECT_EQ((*sql)["matches"], (*state)["matches"]) << params.dump();
  }
  MatchFilter f;
  ASSERT_TRUE(f.parse({{"radius_km", "5"}}).is_ok());
  auto near = m->search_assets(47'000'000, 8'000'000, f);
  ASSERT_TRUE(near.is_ok());
  uint64_t last = 0;
  for (const auto& a : (*near)["assets"]) {
    EXPECT_LE(a["distance_m"].get<uint64_t>(), 5000u);
    EXPECT_GE(a["distance_m"].get<uint64_t>(), last);
    EXPECT_EQ(a["listed"], true);
    last = a["distance_m"].get<uint64_t>();
  }
  EXPECT_GT((*near)["assets"].size(), 2u);
  EXPECT_EQ(m->match(99, f).status().code, kPremisesNotFound);
}

INSTANTIATE_TEST_SUITE_P(Engines, ReadModelTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace gridpact::db::test
