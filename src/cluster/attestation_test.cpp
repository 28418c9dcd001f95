// Joining by attestation: followers apply a leader's blocks only once it passes its check,
// trust an attested proposer for its blocks' client signatures (from etcd or catching up
// from a peer), and verify them again where they must.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "api/server.hpp"
#include "cluster/codes.hpp"
#include "cluster/fixtures.hpp"
#include "node/verify.hpp"

namespace gridpact::cluster::test {
namespace {

// Joining by attestation: a follower applies none of a leader's blocks until the leader
// passes check_leader (asked with the URL the leader publishes), and then all of them.
TEST_F(EtcdOrdererTest, AFollowerAppliesNoBlockOfALeaderThatFailsItsAttestation) {
  auto a = open(validators[0]);
  ASSERT_EQ(leader({a.get()}), 0);
  commit(*a, transfer(0, KeyPair::generate().public_key(), 1));
  std::atomic<bool> trusted{false};
  std::atomic<int> asked{0};
  std::string asked_url;
  std::mutex url_mutex;
  EtcdOrdererConfig check;
  check.check_leader = [&](const std::string& url, const PublicKey& key) -> Status {
    ++asked;
    {
      std::lock_guard lock(url_mutex);
      asked_url = url;
    }
    if (key != validators[0].public_key()) return error(Code::kUnauthorized, "not the leader");
    return trusted ? Status::ok() : error(Code::kUnauthorized, "measurement not allowed");
  };
  auto b = open(validators[1], 10000, {}, {}, check);
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(b->node->store().height().value_or(0), 0u);
  EXPECT_FALSE(b->node->halted().has_value());
  EXPECT_GE(asked.load(), 2);
  EXPECT_LE(asked.load(), 4) << "asked again at most once a second";
  {
    std::lock_guard lock(url_mutex);
    EXPECT_EQ(asked_url,
              "http://127.0.0.1:1/node-" + validators[0].public_key().hex().substr(0, 8));
  }
  auto status = b->orderer->status();
  ASSERT_TRUE(status);
  EXPECT_NE((*status)["this_node"].value("leader_not_attested", "").find("measurement not allowed"),
            std::string::npos)
      << status->dump();
  trusted = true;
  const uint64_t top = a->node->store().height().value();
  ASSERT_TRUE(b->node->wait_height(top, 10s));
  EXPECT_EQ(b->node->store().header(top)->hash(), a->node->store().header(top)->hash());
  EXPECT_FALSE(b->orderer->status()->at("this_node").contains("leader_not_attested"));
  const int asked_when_trusted = asked.load();
  commit(*a, transfer(1, KeyPair::generate().public_key(), 1));
  ASSERT_TRUE(b->node->wait_height(a->node->store().height().value(), 10s));
  EXPECT_EQ(asked.load(), asked_when_trusted) << "a leader that passed is not asked again";
}

// Client signatures: by default a follower trusts an attested leader for them and applies
// its block as sealed, even one holding a transaction its sender never signed; a node that
// verifies them again (--verify-signatures), or one that attested no leader, halts on it;
// and verify_chain (`gridpact verify-chain`) refuses the chain, naming the leader.
TEST_F(EtcdOrdererTest, AnAttestedLeaderIsTrustedForClientSignaturesUnlessANodeVerifiesThem) {
  // validators[0] forges: alice signed 10 for bob, the block says 900,000.
  auto bob = KeyPair::generate().public_key();
  Transaction tx = transfer(0, bob, 10);
  tx.payload = bank::encode(bank::TransferPayload{bob, 900'000, ""});
  ASSERT_FALSE(tx.signature_valid());
  Block forged;
  {
    gridpact::testing::TempDir dir;
    OrderedBatch batch;
    batch.time_ms = genesis.time_ms + 1000;
    batch.txs = {tx};
    auto forger = open_earlier_leader(dir.str(), {std::move(batch)});
    ASSERT_TRUE(forger->wait_height(1, 10s));
    forged = forger->store().block(1).value();
    forger->stop();
  }
  // The forger holds `leader` (as far as etcd says) and block 1 is its block.
  const std::string prefix = "/gridpact/" + genesis.chain_id + "/";
  EtcdClient client(etcd.endpoints(), 2000ms, etcd.client_tls());
  const json leader = {{"public_key", validators[0].public_key().hex()},
                       {"api", "http://127.0.0.1:1/forger"}};
  ASSERT_TRUE(client.put(prefix + "leader", leader.dump()));
  const Bytes bytes = forged.encode();
  ASSERT_TRUE(
      client.put(prefix + EtcdOrderer::height_key(1), std::string(bytes.begin(), bytes.end())));

  EtcdOrdererConfig attests;
  attests.check_leader = [&](const std::string&, const PublicKey& key) -> Status {
    return key == validators[0].public_key() ? Status::ok()
                                             : error(Code::kUnauthorized, "not the leader");
  };
  auto trusting = open(validators[1], 10000, {}, {}, attests);
  verify_sealed_signatures = true;
  auto verifying = open(validators[2], 10000, {}, {}, attests);
  verify_sealed_signatures = false;
  auto unattested = open(KeyPair::generate());  // no check_leader: attests nobody
  ASSERT_TRUE(trusting->node->wait_height(1, 10s));
  EXPECT_FALSE(trusting->node->halted().has_value()) << *trusting->node->halted();
  EXPECT_EQ(bank::balance(trusting->node->store(), bob), 900'000u);
  for (ClusterNode* n : {verifying.get(), unattested.get()}) {
    for (int i = 0; i < 100 && !n->node->halted(); ++i) std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(n->node->halted().has_value());
    EXPECT_NE(n->node->halted()->find("block 1"), std::string::npos) << *n->node->halted();
    EXPECT_EQ(n->node->store().height().value_or(0), 0u);
  }

  // The audit: the trusting node's chain is refused, with the forger named.
  trusting->node->stop();
  std::vector<std::unique_ptr<Module>> owned = modules();
  std::vector<Module*> raw;
  for (auto& m : owned) raw.push_back(m.get());
  gridpact::testing::TempDir scratch;
  auto report = verify_chain(
      trusting->node->store(), genesis, raw, scratch.str() + "/verify",
      [&](const StateReader&, const PublicKey& key) { return key == validators[0].public_key(); });
  ASSERT_FALSE(report);
  EXPECT_EQ(report.status().code, Code::kStateRootMismatch);
  EXPECT_NE(report.status().message.find("client signature"), std::string::npos)
      << report.status().message;
  EXPECT_NE(report.status().message.find(validators[0].public_key().hex()), std::string::npos);
}

// Catching up from a peer, a node asks the proposer of the blocks for its attestation (at
// the API the proposer publishes in nodes/, else at the peer): a proposer that passes is
// trusted for its blocks' client signatures, as an attested leader is, so the forged block
// is applied; a node for which it fails verifies them and halts on that block.
TEST_F(EtcdOrdererTest, CatchUpTrustsClientSignaturesOnlyOfAProposerThatPassesItsAttestation) {
  auto bob = KeyPair::generate().public_key();
  Transaction tx = transfer(0, bob, 10);
  tx.payload = bank::encode(bank::TransferPayload{bob, 900'000, ""});
  ASSERT_FALSE(tx.signature_valid());
  // The earlier leader validators[0]: block 1 forged, block 2 honest (in etcd's window).
  gridpact::testing::TempDir dir;
  std::vector<OrderedBatch> batches(2);
  batches[0].time_ms = genesis.time_ms + 1000;
  batches[0].txs = {tx};
  batches[1].time_ms = genesis.time_ms + 2000;
  batches[1].txs = {transfer(1, bob, 10)};
  auto earlier = open_earlier_leader(dir.str(), std::move(batches));
  ASSERT_TRUE(earlier->wait_height(2, 10s));
  api::Server server(*earlier, {});
  ASSERT_TRUE(server.start());
  const std::string peer = "http://127.0.0.1:" + std::to_string(server.port());
  const std::string prefix = "/gridpact/" + genesis.chain_id + "/";
  EtcdClient client(etcd.endpoints(), 2000ms, etcd.client_tls());
  const Bytes block2 = earlier->store().block(2)->encode();
  ASSERT_TRUE(
      client.put(prefix + EtcdOrderer::height_key(2), std::string(block2.begin(), block2.end())));

  std::mutex mutex;
  std::vector<std::string> asked;  // the URLs check_leader was asked with
  auto checker = [&](bool passes) {
    EtcdOrdererConfig c;
    c.check_leader = [&, passes](const std::string& url, const PublicKey& key) -> Status {
      std::lock_guard lock(mutex);
      asked.push_back(url);
      return passes && key == validators[0].public_key()
                 ? Status::ok()
                 : error(Code::kUnauthorized, "measurement not allowed");
    };
    return c;
  };
  // Nothing published: the peer serving the blocks is asked.
  auto trusting = open(validators[1], 10000, {peer}, {}, checker(true));
  ASSERT_TRUE(trusting->node->wait_height(2, 10s)) << trusting->node->halted().value_or("");
  EXPECT_EQ(bank::balance(trusting->node->store(), bob), 900'010u);
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(asked, std::vector<std::string>{peer}) << "asked once, at the peer";
    asked.clear();
  }
  auto verifying = open(validators[2], 10000, {peer}, {}, checker(false));
  for (int i = 0; i < 100 && !verifying->node->halted(); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(verifying->node->halted().has_value());
  EXPECT_NE(verifying->node->halted()->find("block 1"), std::string::npos)
      << *verifying->node->halted();
  EXPECT_EQ(verifying->node->store().height().value_or(0), 0u);
  {
    std::lock_guard lock(mutex);
    ASSERT_FALSE(asked.empty());
    EXPECT_EQ(asked.front(), peer);
    asked.clear();
  }
  // A proposer that publishes its API is asked there, not at the peer.
  const std::string published = "http://127.0.0.1:1/published";
  const json entry = {{"public_key", validators[0].public_key().hex()}, {"api", published}};
  ASSERT_TRUE(client.put(prefix + "nodes/" + validators[0].public_key().hex(), entry.dump()));
  auto third = open(KeyPair::generate(), 10000, {peer}, {}, checker(true));
  ASSERT_TRUE(third->node->wait_height(2, 10s)) << third->node->halted().value_or("");
  EXPECT_EQ(bank::balance(third->node->store(), bob), 900'010u);
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(asked, std::vector<std::string>{published});
  }
  server.stop();
}
}  // namespace
}  // namespace gridpact::cluster::test
