// Fixtures of the cluster orderer's tests (etcd_orderer_test.cpp, attestation_test.cpp,
// etcd_orderer_tls_test.cpp): a real etcd on loopback and in-process nodes with the bank
// module that order through it. Test code only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cluster/etcd_orderer.hpp"
#include "cluster/testing.hpp"
#include "ledger/testing.hpp"
#include "modules/bank/bank.hpp"

// Named, not anonymous: every test file's TEST_F must see the same fixture types.
namespace gridpact::cluster::test {

using namespace std::chrono_literals;

inline std::vector<std::unique_ptr<Module>> modules() {
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
}  // namespace gridpact::cluster::test
