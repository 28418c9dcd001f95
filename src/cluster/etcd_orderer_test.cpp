// Three in-process nodes ordered through a real etcd (started here on loopback): they
// agree on one chain, a follower's client is answered once its transaction commits, a
// stopped leader is replaced, and a block a node cannot reproduce halts it.
#include "cluster/etcd_orderer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "api/server.hpp"
#include "cluster/codes.hpp"
#include "cluster/testing.hpp"
#include "http/testing_tls.hpp"
#include "ledger/testing.hpp"
#include "modules/bank/bank.hpp"
#include "node/verify.hpp"

namespace gridpact::cluster {
namespace {

using namespace std::chrono_literals;

std::vector<std::unique_ptr<Module>> modules() {
  std::vector<std::unique_ptr<Module>> m;
  m.push_back(std::make_unique<bank::BankModule>());
  return m;
}

// Hands the node batches of its own, as a leader's orderer does: the node executes them
// without checking client signatures (its mempool checks those) and signs each block.
class BatchesOrderer : public Orderer {
 public:
  explicit BatchesOrderer(std::vector<OrderedBatch> batches) : batches_(std::move(batches)) {}
  void start(Deliver deliver) override {
    for (OrderedBatch& b : batches_) deliver(std::move(b));
  }
  void stop() override {}

 private:
  std::vector<OrderedBatch> batches_;
};

struct ClusterNode {
  gridpact::testing::TempDir dir;
  std::unique_ptr<Node> node;
  EtcdOrderer* orderer = nullptr;
};

class EtcdOrdererTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(etcd.start()) << "etcd did not start"; }

  std::unique_ptr<ClusterNode> open(const KeyPair& key, uint64_t window_blocks = 10000,
                                    std::vector<std::string> peers = {}, SignerRule rule = {},
                                    EtcdOrdererConfig extra = {}) {
    auto n = std::make_unique<ClusterNode>();
    NodeOptions o;
    o.data_dir = n->dir.str();
    o.genesis = genesis;
    o.validator_key = key;
    o.validators = {validators[1].public_key(), validators[2].public_key()};
    o.may_sign = std::move(rule);
    o.sync_commits = sync_commits;
    o.verify_sealed_signatures = verify_sealed_signatures;
    EtcdOrdererConfig config{.endpoints = etcd.endpoints(), .lease_ttl_s = 2};
    config.etcd_tls = etcd.client_tls();
    config.peer_tls = peer_tls;
    config.poll = 10ms;
    config.window_blocks = window_blocks;
    config.peers = std::move(peers);
    config.check_leader = std::move(extra.check_leader);
    ClusterNode* raw = n.get();
    n->node =
        Node::open(std::move(o), modules(), [raw, config, this](Node& node) {
          auto orderer = std::make_unique<EtcdOrderer>(node, config);
          // A port nobody listens on, named per node: refused at once, never looked up in
          // DNS.
          if (publish_api_url)
            orderer->set_api_url("http://127.0.0.1:1/node-" +
                                 node.options().validator_key->public_key().hex().substr(0, 8));
          raw->orderer = orderer.get();
          return orderer;
        }).value();
    n->node->start();
    return n;
  }

  // A node outside the cluster that makes blocks of `batches` under validators[0], as an
  // earlier leader did (for forged blocks: its batches are not checked for signatures).
  std::unique_ptr<Node> open_earlier_leader(const std::string& dir,
                                            std::vector<OrderedBatch> batches) {
    NodeOptions o;
    o.data_dir = dir;
    o.genesis = genesis;
    o.validator_key = validators[0];
    o.sync_commits = false;
    auto node = Node::open(std::move(o), modules(), [&](Node&) {
                  return std::make_unique<BatchesOrderer>(std::move(batches));
                }).value();
    node->start();
    return node;
  }

  Transaction transfer(uint64_t nonce, const PublicKey& to, uint64_t amount) {
    return transfer_from(alice, nonce, to, amount);
  }
  Transaction transfer_from(const KeyPair& from, uint64_t nonce, const PublicKey& to,
                            uint64_t amount) {
    Transaction tx;
    tx.chain_id = genesis.chain_id;
    tx.nonce = nonce;
    tx.type = bank::kTransfer;
    tx.payload = bank::encode(bank::TransferPayload{to, amount, ""});
    tx.sign(from);
    return tx;
  }
  // A validator set kept in chain state, as governance keeps one: here the genesis
  // validator and every key holding a balance, so that a transfer changes the set.
  SignerRule funded_validators() const {
    return [v0 = validators[0].public_key()](const StateReader& parent, const PublicKey& key) {
      return key == v0 || bank::balance(parent, key) > 0;
    };
  }
  static void commit(ClusterNode& n, Transaction tx) {
    auto id = n.node->submit(std::move(tx));
    ASSERT_TRUE(id) << id.status().to_string();
    auto r = n.node->wait_committed(*id, 20s);
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(r->ok());
  }

  // Waits until one of `nodes` leads; its index, or -1.
  static int leader(const std::vector<ClusterNode*>& nodes) {
    for (int i = 0; i < 100; ++i) {
      for (size_t j = 0; j < nodes.size(); ++j)
        if (nodes[j]->orderer->leading()) return static_cast<int>(j);
      std::this_thread::sleep_for(100ms);
    }
    return -1;
  }

  testing::EtcdProcess etcd;
  http::TlsClientFiles peer_tls;
  bool sync_commits = false;  // fsync per durable block (off: the tests need no disk waits)
  bool verify_sealed_signatures = false;  // for the nodes open() starts next
  bool publish_api_url = true;            // off: the node's API is not up yet
  std::vector<KeyPair> validators{KeyPair::generate(), KeyPair::generate(), KeyPair::generate()};
  KeyPair issuer = KeyPair::generate();
  KeyPair alice = KeyPair::generate();
  bank::BankModule genesis_bank;
  Genesis genesis =
      Genesis::parse(development_genesis("cluster-test", validators[0].public_key(),
                                         issuer.public_key(), {{alice.public_key(), 1'000'000}},
                                         {&genesis_bank}))
          .value();
};

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
  auto b = open(validators[1], 3, {"http://127.0.0.1:" + std::to_string(testing::free_port())});
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

// Everything over TLS with a CA made here: etcd serves only TLS clients with a certificate
// (--client-cert-auth), the nodes order through it, and a new node catches up past etcd's
// window from a peer's HTTPS API, verified against the CA.
class EtcdOrdererTlsTest : public EtcdOrdererTest {
 protected:
  void SetUp() override {
    auto made = http::make_test_pki(::testing::TempDir() + "/gridpact-orderer-tls-" +
                                    std::to_string(::getpid()));
    ASSERT_TRUE(made) << made.status().message;
    pki = *made;
    etcd.use_tls(pki.ca, pki.cert, pki.key, true);
    ASSERT_TRUE(etcd.start()) << "etcd did not start over TLS";
    peer_tls.ca_file = pki.ca;
  }
  void TearDown() override {
    if (!pki.ca.empty()) std::filesystem::remove_all(std::filesystem::path(pki.ca).parent_path());
  }
  http::TestPki pki;
};

TEST_F(EtcdOrdererTlsTest, NodesOrderThroughTlsEtcdAndCatchUpFromAnHttpsPeer) {
  ASSERT_TRUE(etcd.endpoints()[0].tls);
  auto a = open(validators[0], 5);
  ASSERT_EQ(leader({a.get()}), 0);
  api::ServerOptions https;
  https.tls_cert_file = pki.cert;
  https.tls_key_file = pki.key;
  api::Server server(*a->node, https);
  ASSERT_TRUE(server.start());
  auto bob = KeyPair::generate().public_key();
  for (uint64_t n = 0; n < 12; ++n) {
    auto id = a->node->submit(transfer(n, bob, 10)).value();
    ASSERT_TRUE(a->node->wait_committed(id, 20s).has_value());
  }
  const uint64_t top = a->node->store().height().value();
  ASSERT_GE(top, 12u);
  // A peer given as plain http:// (the TLS port refuses it) is skipped for the https:// one.
  const std::string port = std::to_string(server.port());
  auto b = open(validators[1], 5, {"http://127.0.0.1:" + port, "https://127.0.0.1:" + port});
  ASSERT_TRUE(b->node->wait_height(top, 20s)) << b->node->halted().value_or("");
  EXPECT_FALSE(b->node->halted().has_value());
  EXPECT_EQ(b->node->store().header(top)->hash(), a->node->store().header(top)->hash());
  EXPECT_EQ(bank::balance(b->node->store(), bob), 120u);
  // A client of the follower is answered once the leader's block is in (TLS) etcd.
  auto id = b->node->submit(transfer(12, bob, 10)).value();
  ASSERT_TRUE(b->node->wait_committed(id, 20s).has_value());
  ASSERT_TRUE(a->node->wait_height(b->node->store().height().value(), 20s));
  EXPECT_EQ(bank::balance(a->node->store(), bob), 130u);
  server.stop();
}

// Without the CA, the HTTPS peer is not trusted: the node halts behind the window rather
// than take blocks over an unverified connection.
TEST_F(EtcdOrdererTlsTest, AnHttpsPeerNotSignedByTheCaIsNotUsed) {
  auto a = open(validators[0], 3);
  ASSERT_EQ(leader({a.get()}), 0);
  api::ServerOptions https;
  https.tls_cert_file = pki.other_cert;
  https.tls_key_file = pki.other_key;
  api::Server server(*a->node, https);
  ASSERT_TRUE(server.start());
  auto bob = KeyPair::generate().public_key();
  for (uint64_t n = 0; n < 8; ++n) {
    auto id = a->node->submit(transfer(n, bob, 10)).value();
    ASSERT_TRUE(a->node->wait_committed(id, 20s).has_value());
  }
  auto b = open(validators[1], 3, {"https://127.0.0.1:" + std::to_string(server.port())});
  for (int i = 0; i < 100 && !b->node->halted(); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(b->node->halted().has_value());
  EXPECT_NE(b->node->halted()->find("BEHIND_WINDOW"), std::string::npos) << *b->node->halted();
  EXPECT_EQ(b->node->store().height().value_or(0), 0u);
  server.stop();
}

}  // namespace
}  // namespace gridpact::cluster
