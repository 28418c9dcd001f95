// Three in-process nodes ordered through a real etcd (started here on loopback): they
// agree on one chain, a follower's client is answered once its transaction commits, a
// stopped leader is replaced, and a block a node cannot reproduce halts it.
#include <gtest/gtest.h>

#include "api/server.hpp"
#include "base/testing.hpp"
#include "cluster/codes.hpp"
#include "cluster/fixtures.hpp"

namespace gridpact::cluster::test {
namespace {

// A node starts its orderer before its API server (which needs the node): until the server
// is up and its URL known, the node does not campaign, or it would lead with no URL for the
// others to check its attestation at, and they would follow nobody for as long as it leads.
TEST_F(EtcdOrdererTest, ANodeLeadsOnlyOnceItsApiUrlIsKnown) {
  publish_api_url = false;
  auto a = open(validators[0]);
  std::this_thread::sleep_for(1s);  // four campaign rounds
  EXPECT_FALSE(a->orderer->leading());
  a->orderer->set_api_url("http://127.0.0.1:1/late");
  ASSERT_EQ(leader({a.get()}), 0);
  auto status = a->orderer->status();
  ASSERT_TRUE(status) << status.status().to_string();
  EXPECT_EQ((*status)["leader"]["api"], "http://127.0.0.1:1/late");
}

TEST_F(EtcdOrdererTest, NodesAgreeAndALeaderIsReplaced) {
  auto a = open(validators[0]), b = open(validators[1]), c = open(validators[2]);
  std::vector<ClusterNode*> nodes{a.get(), b.get(), c.get()};
  int first = leader(nodes);
  ASSERT_GE(first, 0);
  ClusterNode* follower = nodes[(first + 1) % 3];
  auto bob = KeyPair::generate().public_key();
  std::vector<Hash32> ids;
  for (uint64_t n = 0; n < 30; ++n)
    ids.push_back(follower->node->submit(transfer(n, bob, 10)).value());
  for (const Hash32& id : ids) {
    auto r = follower->node->wait_committed(id, 20s);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->ok());
  }
  // The leader steps away; another takes over and the chain goes on.
  nodes[first]->node->stop();
  std::vector<ClusterNode*> rest;
  for (int i = 0; i < 3; ++i)
    if (i != first) rest.push_back(nodes[i]);
  int second = leader(rest);
  ASSERT_GE(second, 0);
  for (uint64_t n = 30; n < 40; ++n) {
    auto id = rest[1 - second]->node->submit(transfer(n, bob, 10));
    ASSERT_TRUE(id);
    ASSERT_TRUE(rest[1 - second]->node->wait_committed(*id, 20s).has_value());
  }
  // Both remaining nodes hold the same chain, every transfer once.
  const uint64_t top = rest[1 - second]->node->store().height().value();
  ASSERT_TRUE(rest[second]->node->wait_height(top, 10s));
  for (ClusterNode* n : rest) ASSERT_TRUE(n->node->wait_height(top, 10s));
  EXPECT_EQ(rest[0]->node->store().header(top)->hash(), rest[1]->node->store().header(top)->hash());
  EXPECT_EQ(bank::balance(rest[0]->node->store(), bob), 400u);
  EXPECT_EQ(bank::balance(rest[1]->node->store(), bob), 400u);
  // The stopped node catches up from etcd when it comes back.
  nodes[first]->node.reset();
  auto back = open(validators[first]);
  ASSERT_TRUE(back->node->wait_height(top, 20s));
  EXPECT_EQ(back->node->store().header(top)->hash(), rest[0]->node->store().header(top)->hash());
  EXPECT_EQ(bank::balance(back->node->store(), bob), 400u);
}

TEST_F(EtcdOrdererTest, ABlockThatDoesNotReproduceHaltsTheNode) {
  auto a = open(validators[0]);
  ASSERT_EQ(leader({a.get()}), 0);
  auto bob = KeyPair::generate().public_key();
  auto id = a->node->submit(transfer(0, bob, 10)).value();
  ASSERT_TRUE(a->node->wait_committed(id, 20s).has_value());
  a->node->stop();  // revokes its lease: nobody leads
  const uint64_t top = a->node->store().height().value();
  // A validator signs a block whose state root is wrong, written at the next height.
  Block forged;
  forged.header = a->node->store().header(top).value();
  forged.header.prev_hash = forged.header.hash();
  forged.header.height = top + 1;
  forged.header.tx_count = 0;
  forged.header.tx_root = Hash32{};
  forged.header.state_root = Hash32{};
  forged.header.sign(validators[1]);
  const Bytes bytes = forged.encode();
  EtcdClient etcd_client(etcd.endpoints());
  ASSERT_TRUE(etcd_client.put(a->orderer->key(EtcdOrderer::height_key(top + 1)),
                              std::string(bytes.begin(), bytes.end())));
  auto b = open(validators[2]);
  for (int i = 0; i < 100 && !b->node->halted(); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(b->node->halted().has_value());
  EXPECT_NE(b->node->halted()->find("block " + std::to_string(top + 1)), std::string::npos);
  EXPECT_EQ(b->node->store().height(), top);  // applied everything before, nothing after
  EXPECT_FALSE(b->orderer->leading());
}

// A block stamped ahead of a follower's clock waits, said in GET /v1/cluster, and is
// applied once the clock is within kMaxBlockTimeAheadOfClockMs of it; nothing halts.
TEST_F(EtcdOrdererTest, ABlockFromTheFutureWaitsForTheFollowersClock) {
  auto a = open(validators[0]);
  ASSERT_EQ(leader({a.get()}), 0);
  const uint64_t h = a->node->store().height().value();
  ASSERT_TRUE(a->node->wait_height(h + 2, 20s));  // an empty block on an empty block
  a->node->stop();                                // revokes its lease: nobody leads
  const uint64_t top = a->node->store().height().value();
  // The leader's next block, stamped 3 s ahead of the clocks here.
  Block ahead;
  ahead.header = a->node->store().header(top).value();
  ASSERT_EQ(ahead.header.tx_count, 0u);
  ahead.header.prev_hash = ahead.header.hash();
  ahead.header.height = top + 1;
  const uint64_t stamped = wall_clock_ms() + 3000;
  ahead.header.time_ms = stamped;
  ahead.header.sign(validators[0]);
  const Bytes bytes = ahead.encode();
  EtcdClient etcd_client(etcd.endpoints());
  ASSERT_TRUE(etcd_client.put(a->orderer->key(EtcdOrderer::height_key(top + 1)),
                              std::string(bytes.begin(), bytes.end())));
  auto b = open(validators[2]);
  ASSERT_TRUE(b->node->wait_height(top, 20s));
  std::this_thread::sleep_for(500ms);
  auto status = b->orderer->status();
  ASSERT_TRUE(status) << status.status().to_string();
  EXPECT_EQ(b->node->store().height(), top);
  EXPECT_NE((*status)["this_node"]
                .value("waiting_for_clock", "")
                .find("block " + std::to_string(top + 1)),
            std::string::npos)
      << status->dump();
  ASSERT_TRUE(b->node->wait_height(top + 1, 10s));
  EXPECT_GE(wall_clock_ms() + kMaxBlockTimeAheadOfClockMs, stamped);
  EXPECT_EQ(b->node->store().header(top + 1)->hash(), ahead.header.hash());
  EXPECT_FALSE(b->node->halted().has_value());
  EXPECT_FALSE(b->orderer->status()->at("this_node").contains("waiting_for_clock"));
}

// etcd keeps 5 blocks here: a new node fetches the older ones from a peer's API, checks
// and re-executes each, and then follows etcd; it ends with the same chain.
TEST_F(EtcdOrdererTest, ANewNodeCatchesUpFromAPeerPastTheWindow) {
  auto a = open(validators[0], 5);
  ASSERT_EQ(leader({a.get()}), 0);
  api::Server server(*a->node, {});
  ASSERT_TRUE(server.start());
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  auto bob = KeyPair::generate().public_key();
  for (uint64_t n = 0; n < 20; ++n) {
    auto id = a->node->submit(transfer(n, bob, 10)).value();
    ASSERT_TRUE(a->node->wait_committed(id, 20s).has_value());
  }
  const uint64_t top = a->node->store().height().value();
  ASSERT_GE(top, 20u);
  EtcdClient etcd_client(etcd.endpoints());
  auto first = etcd_client.range(a->orderer->key(EtcdOrderer::height_key(1)));
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->kvs.empty()) << "block 1 should have left etcd's window";

  sync_commits = true;
  auto b = open(validators[1], 5, {url});
  ASSERT_TRUE(b->node->wait_height(top, 20s)) << b->node->halted().value_or("");
  EXPECT_FALSE(b->node->halted().has_value());
  // Blocks it can fetch again need not wait for the disk one by one: the last of the peer's
  // batch and of each read from etcd do, and cover the blocks before them.
  EXPECT_LE(b->node->store().synced_commits(), 3u) << "of " << top << " blocks";
  EXPECT_GE(b->node->store().synced_commits(), 1u);
  EXPECT_EQ(b->node->store().header(top)->hash(), a->node->store().header(top)->hash());
  EXPECT_EQ(bank::balance(b->node->store(), bob), 200u);
  // It goes on following the leader through etcd.
  auto id = a->node->submit(transfer(20, bob, 10)).value();
  ASSERT_TRUE(a->node->wait_committed(id, 20s).has_value());
  ASSERT_TRUE(b->node->wait_height(a->node->store().height().value(), 20s));
  EXPECT_EQ(bank::balance(b->node->store(), bob), 210u);
  server.stop();
}

// With no peer to serve the blocks before the window, a new node halts with BEHIND_WINDOW
// rather than start from the middle of the chain.
TEST_F(EtcdOrdererTest, WithoutAPeerANodeBehindTheWindowHalts) {
  auto a = open(validators[0], 3);
  ASSERT_EQ(leader({a.get()}), 0);
  auto bob = KeyPair::generate().public_key();
  for (uint64_t n = 0; n < 8; ++n) {
    auto id = a->node->submit(transfer(n, bob, 10)).value();
    ASSERT_TRUE(a->node->wait_committed(id, 20s).has_value());
  }
  auto b = open(validators[1], 3,
                {"http://127.0.0.1:" + std::to_string(gridpact::testing::free_loopback_port())});
  for (int i = 0; i < 100 && !b->node->halted(); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(b->node->halted().has_value());
  EXPECT_NE(b->node->halted()->find("BEHIND_WINDOW"), std::string::npos) << *b->node->halted();
  EXPECT_EQ(b->node->store().height().value_or(0), 0u);
}

// The validator set is chain state: a key leads only while the state the next block builds
// on holds it, a change takes effect from the next block, and a leader taken out of the
// set stops cutting blocks and hands over.
TEST_F(EtcdOrdererTest, OnlyKeysInTheSetOnChainLeadAndAChangeTakesEffectAtTheNextBlock) {
  const KeyPair& v1 = validators[1];
  auto a = open(validators[0], 10000, {}, funded_validators());
  ASSERT_EQ(leader({a.get()}), 0);
  auto b = open(v1, 10000, {}, funded_validators());
  // Not in the set: b follows, and does not lead even when nobody else does.
  a->node->stop();
  std::this_thread::sleep_for(3s);  // past the lease
  EXPECT_FALSE(b->orderer->leading());
  a.reset();
  a = open(validators[0], 10000, {}, funded_validators());
  ASSERT_EQ(leader({a.get(), b.get()}), 0);
  // Funded, v1 is in the set from the next block: it takes over when a steps away.
  commit(*a, transfer(0, v1.public_key(), 5));
  const uint64_t joined = a->node->store().height().value();
  ASSERT_TRUE(b->node->wait_height(joined, 10s));
  a->node->stop();
  ASSERT_EQ(leader({b.get()}), 0);
  commit(*b, transfer(1, KeyPair::generate().public_key(), 1));
  const uint64_t led = b->node->store().height().value();
  EXPECT_EQ(b->node->store().header(led)->proposer, v1.public_key());
  // v1 spends its balance: out of the set, it drops its next block and steps down.
  a.reset();
  a = open(validators[0], 10000, {}, funded_validators());
  commit(*b, transfer_from(v1, 0, alice.public_key(), 5));
  const uint64_t left = b->node->store().height().value();
  EXPECT_EQ(bank::balance(b->node->store(), v1.public_key()), 0u);
  for (int i = 0; i < 100 && b->orderer->leading(); ++i) std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(b->orderer->leading());
  ASSERT_EQ(leader({a.get()}), 0);
  commit(*a, transfer(2, KeyPair::generate().public_key(), 1));
  const uint64_t top = a->node->store().height().value();
  ASSERT_TRUE(b->node->wait_height(top, 10s));
  for (uint64_t h = left + 1; h <= top; ++h)
    EXPECT_EQ(a->node->store().header(h)->proposer, validators[0].public_key()) << h;
  EXPECT_EQ(a->node->store().header(top)->hash(), b->node->store().header(top)->hash());
  EXPECT_FALSE(a->node->halted().has_value());
  EXPECT_FALSE(b->node->halted().has_value());
}

// A node whose own rule lets it lead (misconfigured, or hostile) writes blocks into etcd;
// a node that holds the chain's set refuses the first of them and halts, saying why.
TEST_F(EtcdOrdererTest, ABlockByAKeyOutsideTheSetHaltsTheNodesThatApplyIt) {
  const KeyPair& outsider = validators[2];
  auto rogue = open(outsider, 10000, {}, [](const StateReader&, const PublicKey&) { return true; });
  ASSERT_EQ(leader({rogue.get()}), 0);
  commit(*rogue, transfer(0, KeyPair::generate().public_key(), 1));
  rogue->node->stop();
  auto honest = open(validators[0], 10000, {}, funded_validators());
  for (int i = 0; i < 100 && !honest->node->halted(); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(honest->node->halted().has_value());
  EXPECT_NE(honest->node->halted()->find("not in the validator set"), std::string::npos)
      << *honest->node->halted();
  EXPECT_NE(honest->node->halted()->find(outsider.public_key().hex()), std::string::npos);
  EXPECT_EQ(honest->node->store().height().value_or(0), 0u);
}
}  // namespace
}  // namespace gridpact::cluster::test
