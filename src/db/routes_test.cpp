// /v1/db: its bounds and the query gate, and the database URLs it accepts.
#include <gtest/gtest.h>

#include "db/fixtures.hpp"

namespace gridpact::db::test {
namespace {

using namespace agreements;

// Issue 20: /v1/db took a 20,000 km radius, a box that reads every listing. The bound is
// checked before the model is touched (here there is none).
TEST(Routes, RadiusIsBounded) {
  Routes routes({});
  for (const char* q : {"assets", "match"}) {
    json params = {
        {"q", q}, {"lat_e6", "0"}, {"lon_e6", "0"}, {"premises", "1"}, {"radius_km", "20000"}};
    auto r = routes.answer(params);
    ASSERT_FALSE(r.is_ok()) << q;
    EXPECT_EQ(r.status().code, Code::kInvalidArgument);
    EXPECT_NE(r.status().message.find("500"), std::string::npos) << r.status().message;
  }
}

// Issue 20: /v1/db answered one query at a time, on one connection under one lock, so one
// slow query held every other. Each query now takes a free connection of a small pool.
TEST_P(ReadModelTest, ASlowDbQueryHoldsOneConnectionNotTheRoute) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "the slow query is PostgreSQL's pg_sleep";
  const std::string u = url();
  std::vector<std::unique_ptr<ReadModel>> models;
  for (int i = 0; i < 2; ++i) models.push_back(open(u));
  Routes routes(std::move(models));
  std::promise<void> started;
  std::thread slow([&] {
    (void)routes.on_connection([&](ReadModel& m) -> Result<json> {
      started.set_value();
      (void)m.sql().query("SELECT pg_sleep(2)::text", {});
      return json::object();
    });
  });
  started.get_future().wait();
  const auto t0 = std::chrono::steady_clock::now();
  auto h = routes.answer({{"q", "height"}});
  const auto took = std::chrono::steady_clock::now() - t0;
  slow.join();
  ASSERT_TRUE(h.is_ok()) << h.status().message;
  EXPECT_EQ((*h)["last_height"], 0);
  EXPECT_LT(took, std::chrono::milliseconds(1000));
}

// Issue 20: /v1/db is an expensive query of the API's gate: a client beyond its share gets
// 429 OVERLOADED (before any database work).
TEST_P(ReadModelTest, DbRouteGoesThroughTheQueryGate) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "the gate is the same for both engines";
  std::vector<std::unique_ptr<ReadModel>> models;
  models.push_back(open(url()));
  auto routes = std::make_shared<Routes>(std::move(models));
  api::ServerOptions o;
  o.queries.per_client_per_second = 0;  // no refill: the burst is all a client gets
  o.queries.per_client_burst = 2;
  testing::TempDir node_dir;
  KeyPair validator = KeyPair::generate();
  bank::BankModule genesis_bank;
  Genesis genesis = Genesis::parse(development_genesis("db-gate", validator.public_key(),
                                                       issuer.public_key(), {}, {&genesis_bank}))
                        .value();
  std::vector<std::unique_ptr<Module>> mods;
  mods.push_back(std::make_unique<bank::BankModule>());
  auto node = Node::open({node_dir.str(), genesis, validator, {}, false}, std::move(mods)).value();
  node->start();
  {
    api::Server server(*node, o);
    install_routes(server, routes);
    ASSERT_TRUE(server.start().is_ok());
    httplib::Client c("127.0.0.1", server.port());
    c.set_read_timeout(10, 0);
    std::vector<int> statuses;
    for (int i = 0; i < 3; ++i) {
      auto r = c.Get("/v1/db?q=height");
      ASSERT_TRUE(r);
      statuses.push_back(r->status);
      if (r->status == 429) {
        EXPECT_EQ(json::parse(r->body)["error"]["name"], "OVERLOADED");
      }
    }
    EXPECT_EQ(statuses, (std::vector<int>{200, 200, 429}));
    server.stop();
  }
  node->stop();
}

TEST(Sql, BadUrlsAreRefused) {
  EXPECT_EQ(connect("mysql://x").status().code, kDbBadUrl);
  EXPECT_EQ(connect("").status().code, kDbBadUrl);
  EXPECT_EQ(connect("postgresql://nobody@127.0.0.1:1/x").status().code, kDbError);
}

}  // namespace
}  // namespace gridpact::db::test
