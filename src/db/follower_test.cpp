// The read model following a real node.
#include <gtest/gtest.h>

#include "db/fixtures.hpp"

namespace gridpact::db::test {
namespace {

using namespace agreements;

// The read model following a real node: every committed block, from a worker thread, and
// again after a restart of the follower.
TEST(Follower, FollowsANodeAndResumes) {
  testing::TempDir dir;
  KeyPair validator = KeyPair::generate(), issuer = KeyPair::generate(), host = KeyPair::generate();
  bank::BankModule genesis_bank;  // write the genesis document's sections
  meters::MetersModule genesis_meters;
  Genesis genesis =
      Genesis::parse(development_genesis("follow-test", validator.public_key(), issuer.public_key(),
                                         {{host.public_key(), 1000}},
                                         {&genesis_bank, &genesis_meters}))
          .value();
  NodeOptions o;
  o.data_dir = dir.str() + "/chain";
  o.genesis = genesis;
  o.validator_key = validator;
  o.sync_commits = false;
  std::vector<std::unique_ptr<Module>> modules;
  modules.push_back(std::make_unique<bank::BankModule>());
  modules.push_back(std::make_unique<meters::MetersModule>());
  modules.push_back(std::make_unique<AgreementsModule>());
  auto node = Node::open(std::move(o), std::move(modules)).value();
  node->start();
  std::string url = "sqlite:" + dir.str() + "/follow.db";
  auto premises_tx = [&](uint64_t nonce, uint64_t area) {
    Premises p;
    p.area_m2 = area;
    Transaction tx;
    tx.chain_id = genesis.chain_id;
    tx.nonce = nonce;
    tx.type = kRegisterPremises;
    tx.payload = encode(p);
    tx.sign(host);
    auto id = node->submit(tx).value();
    auto r = node->wait_committed(id, std::chrono::seconds(10));
    EXPECT_TRUE(r && r->ok());
    return r ? r->height : 0;
  };
  uint64_t h1;
  {
    auto model = ReadModel::open(url).value();
    Follower follower(*node, *model);
    ASSERT_TRUE(follower.start().is_ok());
    h1 = premises_tx(0, 10);
    ASSERT_TRUE(follower.wait_height(h1, std::chrono::seconds(10)));
    auto rows = model->sql().query("SELECT id, area_m2 FROM premises", {});
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ(rows->at(0).at(1), "10");
  }
  // Blocks committed while no follower runs are applied when one starts again.
  uint64_t h2 = premises_tx(1, 20);
  auto model = ReadModel::open(url).value();
  EXPECT_LT(*model->last_height(), h2);
  Follower follower(*node, *model);
  ASSERT_TRUE(follower.start().is_ok());
  ASSERT_TRUE(follower.wait_height(h2, std::chrono::seconds(10)));
  EXPECT_TRUE(follower.last_error().is_ok());
  follower.stop();
  node->stop();
  auto v = model->verify(node->store());
  ASSERT_TRUE(v.is_ok());
  EXPECT_TRUE((*v)["ok"].get<bool>()) << v->dump(2);
  EXPECT_EQ((*v)["tables"]["premises"]["db"], 2);
}

}  // namespace
}  // namespace gridpact::db::test
