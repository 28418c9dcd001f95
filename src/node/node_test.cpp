#include "node/node.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "ledger/block_time.hpp"
#include "ledger/executor.hpp"
#include "ledger/testing.hpp"
#include "modules/bank/bank.hpp"
#include "node/verify.hpp"

namespace gridpact {
namespace {

std::vector<std::unique_ptr<Module>> modules() {
  std::vector<std::unique_ptr<Module>> m;
  m.push_back(std::make_unique<bank::BankModule>());
  return m;
}

struct NodeTest : ::testing::Test {
  testing::TempDir dir;
  KeyPair validator = KeyPair::generate();
  KeyPair issuer = KeyPair::generate();
  KeyPair alice = KeyPair::generate();
  bank::BankModule genesis_bank;  // writes the genesis document's [bank] section
  Genesis genesis =
      Genesis::parse(development_genesis("node-test", validator.public_key(), issuer.public_key(),
                                         {{alice.public_key(), 1'000'000}}, {&genesis_bank}))
          .value();

  std::unique_ptr<Node> open() {
    NodeOptions o;
    o.data_dir = dir.str();
    o.genesis = genesis;
    o.validator_key = validator;
    o.sync_commits = false;
    return Node::open(std::move(o), modules()).value();
  }
  Transaction transfer(uint64_t nonce, const PublicKey& to, uint64_t amount) {
    Transaction tx;
    tx.chain_id = genesis.chain_id;
    tx.nonce = nonce;
    tx.type = bank::kTransfer;
    tx.payload = bank::encode(bank::TransferPayload{to, amount, ""});
    tx.sign(alice);
    return tx;
  }
};

TEST_F(NodeTest, CommitsSubmittedTransfersAndResumesAfterRestart) {
  auto bob = KeyPair::generate().public_key();
  Hash32 root;
  uint64_t height;
  {
    auto node = open();
    node->start();
    std::vector<Hash32> ids;
    for (uint64_t n = 0; n < 20; ++n) ids.push_back(node->submit(transfer(n, bob, 10)).value());
    EXPECT_EQ(node->submit(transfer(3, bob, 10)).status().code, Code::kNonceReused);
    for (auto& id : ids) {
      auto r = node->wait_committed(id, std::chrono::seconds(10));
      ASSERT_TRUE(r.has_value());
      EXPECT_TRUE(r->ok());
    }
    EXPECT_EQ(bank::balance(node->store(), bob), 200u);
    auto overdraft = node->submit(transfer(20, bob, 2'000'000)).value();
    auto r = node->wait_committed(overdraft, std::chrono::seconds(10));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->code, static_cast<uint16_t>(Code::kInsufficientFunds));
    node->stop();
    root = node->store().state_root();
    height = *node->store().height();
    // Blocks are signed by the validator.
    auto h = node->store().header(height);
    EXPECT_TRUE(h->signature_valid());
    EXPECT_EQ(h->proposer, validator.public_key());
  }
  auto node = open();
  EXPECT_EQ(node->store().height(), height);
  EXPECT_EQ(node->store().state_root(), root);
  EXPECT_EQ(bank::balance(node->store(), bob), 200u);
  // The chain replays from genesis to the same roots.
  bank::BankModule bank;
  auto report = verify_chain(node->store(), genesis, {&bank}, dir.str() + "/scratch");
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_EQ(report->state_root, root);
  EXPECT_EQ(report->txs, 21u);
  // Another genesis document does not match this chain.
  auto other = Genesis::parse(genesis.text + "\n# changed\n").value();
  EXPECT_EQ(verify_chain(node->store(), other, {&bank}, dir.str() + "/scratch2").status().code,
            Code::kStateRootMismatch);
}

// Group commit: on an idle node a transaction does not wait for the block interval.
TEST_F(NodeTest, IdleNodeCommitsATransactionFarSoonerThanTheInterval) {
  std::string text = genesis.text;
  auto at = text.find("interval_ms = 100\n");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 17, "interval_ms = 1000");
  genesis = Genesis::parse(text).value();
  ASSERT_EQ(genesis.block_interval_ms, 1000u);
  auto node = open();
  node->start();
  auto bob = KeyPair::generate().public_key();
  // A first transaction warms up the store; then the node sits idle.
  auto first = node->submit(transfer(0, bob, 1)).value();
  ASSERT_TRUE(node->wait_committed(first, std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto start = std::chrono::steady_clock::now();
  auto id = node->submit(transfer(1, bob, 1)).value();
  auto r = node->wait_committed(id, std::chrono::seconds(10));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ok());
  EXPECT_LT(took, std::chrono::milliseconds(200));
  // The block timings reach the metrics: two blocks with one transaction each at least.
  std::string metrics = node->block_metrics().prometheus();
  EXPECT_NE(metrics.find("gridpact_block_execute_seconds_count"), std::string::npos);
  EXPECT_NE(metrics.find("gridpact_block_end_block_seconds_bucket{module=\"bank\""),
            std::string::npos);
  EXPECT_NE(metrics.find("gridpact_block_fsync_seconds_sum"), std::string::npos);
  EXPECT_GE(node->block_metrics().blocks(), 2u);
  node->stop();
}

TEST_F(NodeTest, RefusesWrongDataDirectoryAndWrongValidator) {
  { open(); }
  auto other = Genesis::parse(genesis.text + "\n# changed\n").value();
  NodeOptions o;
  o.data_dir = dir.str();
  o.genesis = other;
  EXPECT_EQ(Node::open(std::move(o), modules()).status().code, Code::kBadGenesis);
  NodeOptions o2;
  o2.data_dir = dir.str() + "/b";
  o2.genesis = genesis;
  o2.validator_key = KeyPair::generate();
  auto node = Node::open(std::move(o2), modules()).value();
  EXPECT_THROW(node->start(), Error);
}

// A crash right after the genesis block's commit: the genesis hash is written in the same
// batch, and a directory left by an older node without it starts again.
TEST_F(NodeTest, GenesisHashIsCommittedWithTheGenesisBlock) {
  {
    auto store = Store::open(dir.str() + "/db", {.sync = false}).value();
    bank::BankModule bank;
    Executor executor(*store, {&bank}, genesis.chain_id);
    auto batch = executor.genesis(genesis.document, genesis.hash, genesis.time_ms).value();
    ASSERT_TRUE(store->commit(batch).is_ok());  // and no put_meta: the old crash
  }
  ASSERT_TRUE(Node::open(
                  [&] {
                    NodeOptions o;
                    o.data_dir = dir.str();
                    o.genesis = genesis;
                    o.sync_commits = false;
                    return o;
                  }(),
                  modules())
                  .is_ok());
  auto other = Genesis::parse(genesis.text + "\n# changed\n").value();
  NodeOptions o;
  o.data_dir = dir.str();
  o.genesis = other;
  EXPECT_EQ(Node::open(std::move(o), modules()).status().code, Code::kBadGenesis);
  // A fresh directory: the node's genesis commit carries the hash itself.
  testing::TempDir fresh;
  {
    NodeOptions f;
    f.data_dir = fresh.str();
    f.genesis = genesis;
    f.sync_commits = false;
    ASSERT_TRUE(Node::open(std::move(f), modules()).is_ok());
  }
  auto store = Store::open(fresh.str() + "/db", {.read_only = true}).value();
  EXPECT_EQ(store->meta("genesis_hash"), genesis.hash.hex());
}

TEST(Genesis, RejectsBadDocuments) {
  EXPECT_EQ(Genesis::parse("chain_id = ").status().code, Code::kBadGenesis);
  EXPECT_EQ(Genesis::parse("chain_id = \"x\"").status().code, Code::kBadGenesis);
  EXPECT_EQ(Genesis::parse("chain_id = \"x\"\n[validator]\npublic_key = \"zz\"").status().code,
            Code::kBadGenesis);
  auto k = KeyPair::generate().public_key().hex();
  auto ok = Genesis::parse("chain_id = \"x\"\n[validator]\npublic_key = \"" + k +
                           "\"\n[block]\nmax_txs = 7\n");
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(ok->max_block_txs, 7u);
  EXPECT_EQ(Genesis::parse("chain_id = \"x\"\n[validator]\npublic_key = \"" + k +
                           "\"\n[block]\nmax_txs = 0\n")
                .status()
                .code,
            Code::kBadGenesis);
}

// Hands the node the batches a test gives it, on the test's thread, as a cluster's
// orderer does on its own.
struct HandOrderer : Orderer {
  Deliver deliver;
  void start(Deliver d) override { deliver = std::move(d); }
  void stop() override {}
};

// A sealed block stamped more than an hour after its predecessor is never applied: the
// node halts and says why. The node's own blocks keep to the hour; verify-chain refuses
// the jump.
TEST_F(NodeTest, RefusesASealedBlockFarAheadOfThePreviousOne) {
  HandOrderer* orderer = nullptr;
  NodeOptions o;
  o.data_dir = dir.str();
  o.genesis = genesis;
  o.validator_key = validator;
  o.sync_commits = false;
  auto node = Node::open(std::move(o), modules(), [&](Node&) {
                auto h = std::make_unique<HandOrderer>();
                orderer = h.get();
                return h;
              }).value();
  node->start();
  ASSERT_NE(orderer, nullptr);
  // Block 1 takes any time (genesis' is the document's); the leader's own block 2, asked
  // for a day on, is stamped an hour on.
  const uint64_t t1 = 1'800'000'000'000, day = 86'400'000;
  orderer->deliver(OrderedBatch{t1, {}, {}, std::nullopt});
  orderer->deliver(OrderedBatch{t1 + day, {}, {}, std::nullopt});
  ASSERT_TRUE(node->wait_height(2, std::chrono::seconds(10)));
  const BlockHeader first = *node->store().header(1), second = *node->store().header(2);
  EXPECT_EQ(first.time_ms, t1);
  EXPECT_EQ(second.time_ms, t1 + kMaxBlockTimeStepMs);
  // Another validator's block a day after block 2 (else the same as block 3 would be).
  BlockHeader forged = second;
  forged.height = 3;
  forged.prev_hash = second.hash();
  forged.time_ms = second.time_ms + day;
  forged.sign(validator);
  orderer->deliver(OrderedBatch{forged.time_ms, {}, {}, forged});
  ASSERT_TRUE(node->halted().has_value());
  EXPECT_NE(node->halted()->find("block 3 by " + validator.public_key().hex() +
                                 ": its time runs more than 3600 s ahead of the previous block's"),
            std::string::npos)
      << *node->halted();
  EXPECT_EQ(node->store().height(), 2u);
  node->stop();

  // The same block written into a store: verify-chain names it.
  auto store = Store::open(dir.str() + "/forged", {.sync = false}).value();
  bank::BankModule bank;
  Executor executor(*store, {&bank}, genesis.chain_id);
  ASSERT_TRUE(
      store->commit(executor.genesis(genesis.document, genesis.hash, genesis.time_ms).value())
          .is_ok());
  for (const BlockHeader& h : {first, second, forged}) {
    auto batch = executor.execute({}, h.time_ms, true).value();
    batch.block.header = h;
    ASSERT_TRUE(store->commit(batch).is_ok());
  }
  auto report = verify_chain(*store, genesis, {&bank}, dir.str() + "/scratch");
  EXPECT_EQ(report.status().code, Code::kStateRootMismatch);
  EXPECT_EQ(report.status().message,
            "block 3: time runs more than 3600 s ahead of the previous block's");
}

}  // namespace
}  // namespace gridpact
