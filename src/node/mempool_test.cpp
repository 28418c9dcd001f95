#include "node/mempool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace gridpact {
namespace {

struct MempoolTest : ::testing::Test {
  std::map<PublicKey, uint64_t> committed;
  Mempool pool{{.max_txs = 50, .max_nonce_ahead = 4},
               "c",
               // Read-only: concurrent submitters call it outside the pool's lock.
               [this](const PublicKey& k) {
                 auto it = committed.find(k);
                 return it == committed.end() ? uint64_t{0} : it->second;
               },
               [](const Transaction& tx) {
                 return tx.type == 1 ? Status::ok() : error(Code::kUnknownType, "type");
               }};
  KeyPair alice = KeyPair::generate();

  Transaction tx(const KeyPair& k, uint64_t nonce, std::string chain = "c", uint16_t type = 1) {
    Transaction t;
    t.chain_id = std::move(chain);
    t.nonce = nonce;
    t.type = type;
    t.sign(k);
    return t;
  }
};

TEST_F(MempoolTest, RejectsBadTransactionsWithCodes) {
  EXPECT_EQ(pool.add(tx(alice, 0, "other")).status().code, Code::kWrongChain);
  EXPECT_EQ(pool.add(tx(alice, 0, "c", 9)).status().code, Code::kUnknownType);
  auto forged = tx(alice, 0);
  forged.nonce = 1;
  EXPECT_EQ(pool.add(forged).status().code, Code::kBadSignature);
  EXPECT_EQ(pool.size(), 0u);
}

TEST_F(MempoolTest, NoncesBecomeReadyInOrder) {
  committed[alice.public_key()] = 3;
  EXPECT_EQ(pool.add(tx(alice, 2)).status().code, Code::kNonceReused);
  EXPECT_EQ(pool.add(tx(alice, 9)).status().code, Code::kNonceTooFar);
  ASSERT_TRUE(pool.add(tx(alice, 5)).is_ok());  // waits for 3 and 4
  EXPECT_EQ(pool.add(tx(alice, 5)).status().code, Code::kDuplicateTx);
  EXPECT_EQ(pool.ready(), 0u);
  ASSERT_TRUE(pool.add(tx(alice, 3)).is_ok());
  EXPECT_EQ(pool.ready(), 1u);
  ASSERT_TRUE(pool.add(tx(alice, 4)).is_ok());
  EXPECT_EQ(pool.ready(), 3u);
  EXPECT_EQ(pool.add(tx(alice, 4)).status().code, Code::kNonceReused);
  auto taken = pool.take(10);
  ASSERT_EQ(taken.txs.size(), 3u);
  EXPECT_EQ(taken.txs[0].nonce, 3u);
  EXPECT_EQ(taken.txs[2].nonce, 5u);
  // Each with the id admission computed, the waiting ones too.
  ASSERT_EQ(taken.tx_ids.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(taken.tx_ids[i], taken.txs[i].id());
  // While in flight, the next nonce continues from the mempool's view, not the store's.
  ASSERT_TRUE(pool.add(tx(alice, 6)).is_ok());
  committed[alice.public_key()] = 6;
  pool.committed(taken.txs);
  EXPECT_EQ(pool.take(10).txs.size(), 1u);
}

TEST_F(MempoolTest, BoundedInSize) {
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(pool.add(tx(KeyPair::generate(), 0)).is_ok());
  EXPECT_EQ(pool.add(tx(alice, 0)).status().code, Code::kMempoolFull);
  EXPECT_EQ(pool.take(20).txs.size(), 20u);
  EXPECT_TRUE(pool.add(tx(alice, 0)).is_ok());
}

TEST_F(MempoolTest, ConcurrentSubmittersKeepPerSenderOrder) {
  std::vector<KeyPair> keys(8, alice);
  for (auto& k : keys) k = KeyPair::generate();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2; ++i)
        for (uint64_t n = 0; n < 5; ++n) ASSERT_TRUE(pool.add(tx(keys[t * 2 + i], n)).is_ok());
    });
  for (auto& th : threads) th.join();
  auto all = pool.take(100);
  ASSERT_EQ(all.txs.size(), 40u);
  std::map<PublicKey, uint64_t> next;
  for (auto& t : all.txs) EXPECT_EQ(t.nonce, next[t.sender]++);
}

TEST_F(MempoolTest, WaitersWakeWhenTheirCountIsReady) {
  using clock = std::chrono::steady_clock;
  // Deadlines far off: a waiter that was not woken would return only after a minute.
  const auto deadline = clock::now() + std::chrono::seconds(60);
  std::atomic<size_t> seen_by_two{0}, seen_by_five{0};
  std::thread two([&] {
    pool.wait_ready(2, deadline);
    seen_by_two = pool.ready();
  });
  std::thread five([&] {
    pool.wait_ready(5, deadline);
    seen_by_five = pool.ready();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // both are waiting
  ASSERT_TRUE(pool.add(tx(alice, 0)).is_ok());
  ASSERT_TRUE(pool.add(tx(alice, 2)).is_ok());  // waits for nonce 1: not ready
  ASSERT_TRUE(pool.add(tx(KeyPair::generate(), 0)).is_ok());
  two.join();
  EXPECT_GE(seen_by_two.load(), 2u);
  EXPECT_EQ(seen_by_five.load(), 0u);
  ASSERT_TRUE(pool.add(tx(alice, 1)).is_ok());  // brings nonce 2 with it: four ready
  ASSERT_TRUE(pool.add(tx(KeyPair::generate(), 0)).is_ok());
  five.join();
  EXPECT_EQ(seen_by_five.load(), 5u);
  EXPECT_LT(clock::now(), deadline - std::chrono::seconds(30));
}

}  // namespace
}  // namespace gridpact
