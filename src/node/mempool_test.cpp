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

// Only the very bytes admitted before skip verification: the id covers the signature.
TEST_F(MempoolTest, AVerifiedIdSkipsVerificationOfThatTransactionOnly) {
  auto forged = tx(alice, 0);
  forged.nonce = 1;  // the signature no longer verifies
  const Hash32 good = tx(alice, 1).id();
  EXPECT_EQ(pool.add(forged, good).status().code, Code::kBadSignature);
  EXPECT_EQ(pool.size(), 0u);
  // Under its own id it is taken as verified: the caller vouches for those bytes.
  auto added = pool.add(forged, forged.id());
  ASSERT_TRUE(added) << added.status().to_string();
  EXPECT_EQ(*added, forged.id());
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

// A cluster: the sender's previous transactions went through other nodes. What waits here
// behind them becomes ready when their block commits; what the chain passed is dropped.
TEST_F(MempoolTest, WaitingTransactionsFollowNoncesOrderedElsewhere) {
  committed[alice.public_key()] = 3;
  ASSERT_TRUE(pool.add(tx(alice, 4)).is_ok());  // 3 went to another node
  ASSERT_TRUE(pool.add(tx(alice, 6)).is_ok());
  EXPECT_EQ(pool.ready(), 0u);
  EXPECT_EQ(pool.size(), 2u);
  committed[alice.public_key()] = 4;
  pool.committed({tx(alice, 3)});
  EXPECT_EQ(pool.ready(), 1u);  // 4; 6 still waits for 5
  auto taken = pool.take(10);
  ASSERT_EQ(taken.txs.size(), 1u);
  EXPECT_EQ(taken.txs[0].nonce, 4u);
  committed[alice.public_key()] = 5;
  pool.committed(taken.txs);  // in flight here: nothing else moves
  EXPECT_EQ(pool.ready(), 0u);
  // 5 and a 6 of its own came through another node: this node's 6 is passed over.
  committed[alice.public_key()] = 7;
  pool.committed({tx(alice, 5), tx(alice, 6)});
  EXPECT_EQ(pool.ready(), 0u);
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_TRUE(pool.add(tx(alice, 7)).is_ok());
  EXPECT_EQ(pool.ready(), 1u);
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

// The attack of issue 20: fresh keys, each sending nonces 1..64 without 0, used to keep
// the pool full for good. Their gapped transactions are capped as a group, expire, and
// make way for a transaction that is ready at once; an honest sender is never refused.
TEST(MempoolAbuse, GappedNonceFloodCannotStarveAnHonestSender) {
  std::map<PublicKey, uint64_t> committed;
  KeyPair honest = KeyPair::generate(), newcomer = KeyPair::generate();
  committed[honest.public_key()] = 7;
  Mempool pool(
      {.max_txs = 2000, .max_nonce_ahead = 64, .max_new_sender_txs = 1000}, "c",
      [&](const PublicKey& k) {
        auto it = committed.find(k);
        return it == committed.end() ? uint64_t{0} : it->second;
      },
      [](const Transaction&) { return Status::ok(); });
  auto tx = [](const KeyPair& k, uint64_t nonce) {
    Transaction t;
    t.chain_id = "c";
    t.nonce = nonce;
    t.type = 1;
    t.sign(k);
    return t;
  };
  size_t admitted = 0, quota = 0;
  for (int key = 0; key < 300; ++key) {
    KeyPair attacker = KeyPair::generate();
    for (uint64_t n = 1; n <= 64; ++n) {
      auto r = pool.add(tx(attacker, n));
      if (r.is_ok())
        ++admitted;
      else if (r.status().code == Code::kSenderQuota)
        ++quota;
      else
        FAIL() << r.status().to_string();
    }
  }
  // 16 each at most, 1,000 together: the pool never filled.
  EXPECT_EQ(admitted, 1000u);
  EXPECT_EQ(quota, 300u * 64 - 1000u);
  EXPECT_EQ(pool.ready(), 0u);
  for (uint64_t n = 7; n < 7 + 500; ++n) ASSERT_TRUE(pool.add(tx(honest, n)).is_ok()) << n;
  // A newcomer's first transaction is ready at once: it displaces the oldest gapped one.
  ASSERT_TRUE(pool.add(tx(newcomer, 0)).is_ok());
  EXPECT_EQ(pool.size(), 1000u + 500u);
  EXPECT_EQ(pool.ready(), 501u);
}

// Known senders' gapped transactions: the pool is full of them, yet a ready transaction
// gets in (the oldest waiting one leaves), and waiting ones expire after the time to live.
TEST(MempoolAbuse, WaitingTransactionsAreEvictedFirstAndExpire) {
  auto now = std::chrono::steady_clock::now();
  KeyPair honest = KeyPair::generate();
  Mempool pool(
      {.max_txs = 20, .max_nonce_ahead = 64, .waiting_ttl = std::chrono::seconds(30)}, "c",
      [](const PublicKey&) { return uint64_t{1}; }, [](const Transaction&) { return Status::ok(); },
      [&] { return now; });
  auto tx = [](const KeyPair& k, uint64_t nonce) {
    Transaction t;
    t.chain_id = "c";
    t.nonce = nonce;
    t.type = 1;
    t.sign(k);
    return t;
  };
  std::vector<KeyPair> gapped(20, honest);
  for (auto& k : gapped) {
    k = KeyPair::generate();
    ASSERT_TRUE(pool.add(tx(k, 2)).is_ok());
  }
  // Full: another gapped transaction is refused, a ready one evicts the oldest.
  EXPECT_EQ(pool.add(tx(KeyPair::generate(), 3)).status().code, Code::kMempoolFull);
  ASSERT_TRUE(pool.add(tx(honest, 1)).is_ok());
  EXPECT_EQ(pool.size(), 20u);
  // The oldest (gapped[0]'s nonce 2) is gone: its nonce 1 is ready alone.
  ASSERT_TRUE(pool.add(tx(gapped[0], 1)).is_ok());  // evicts gapped[1]'s
  EXPECT_EQ(pool.ready(), 2u);
  // The newest still waits and comes along with its predecessor (gapped[2]'s leaves).
  ASSERT_TRUE(pool.add(tx(gapped[19], 1)).is_ok());
  EXPECT_EQ(pool.ready(), 4u);
  EXPECT_EQ(pool.size(), 20u);
  // Thirty seconds later every gapped transaction has expired; ready ones stay.
  now += std::chrono::seconds(30);
  ASSERT_TRUE(pool.add(tx(honest, 2)).is_ok());
  EXPECT_EQ(pool.size(), 5u);
  EXPECT_EQ(pool.ready(), 5u);
}

TEST(MempoolAbuse, PerSenderAndByteBounds) {
  KeyPair big = KeyPair::generate(), other = KeyPair::generate();
  Mempool pool(
      {.max_txs = 1000, .max_nonce_ahead = 64, .max_bytes = 100 * 1024, .max_per_sender = 10}, "c",
      [](const PublicKey&) { return uint64_t{1}; },
      [](const Transaction&) { return Status::ok(); });
  auto tx = [](const KeyPair& k, uint64_t nonce, size_t payload) {
    Transaction t;
    t.chain_id = "c";
    t.nonce = nonce;
    t.type = 1;
    t.payload.assign(payload, 7);
    t.sign(k);
    return t;
  };
  for (uint64_t n = 1; n <= 10; ++n) ASSERT_TRUE(pool.add(tx(other, n, 10)).is_ok());
  EXPECT_EQ(pool.add(tx(other, 11, 10)).status().code, Code::kSenderQuota);
  // 40 KiB each: the third does not fit in 100 KiB although the count is far from full.
  ASSERT_TRUE(pool.add(tx(big, 1, 40 * 1024)).is_ok());
  ASSERT_TRUE(pool.add(tx(big, 2, 40 * 1024)).is_ok());
  EXPECT_EQ(pool.add(tx(big, 3, 40 * 1024)).status().code, Code::kMempoolFull);
  EXPECT_GT(pool.bytes(), 80u * 1024);
  EXPECT_LE(pool.bytes(), 100u * 1024);
  pool.take(20);
  EXPECT_EQ(pool.bytes(), 0u);
  EXPECT_TRUE(pool.add(tx(big, 3, 40 * 1024)).is_ok());
}

// One sender's stream cannot take a block while others wait: blocks are filled round
// robin across senders.
TEST_F(MempoolTest, BlocksAreFilledFairlyAcrossSenders) {
  committed[alice.public_key()] = 0;
  for (uint64_t n = 0; n < 16; ++n) ASSERT_TRUE(pool.add(tx(alice, n)).is_ok());
  KeyPair bob = KeyPair::generate(), carol = KeyPair::generate();
  ASSERT_TRUE(pool.add(tx(bob, 0)).is_ok());
  ASSERT_TRUE(pool.add(tx(carol, 0)).is_ok());
  ASSERT_TRUE(pool.add(tx(bob, 1)).is_ok());
  auto block = pool.take(5);
  ASSERT_EQ(block.txs.size(), 5u);
  std::map<PublicKey, int> per_sender;
  for (auto& t : block.txs) per_sender[t.sender]++;
  EXPECT_EQ(per_sender[bob.public_key()], 2);
  EXPECT_EQ(per_sender[carol.public_key()], 1);
  EXPECT_EQ(per_sender[alice.public_key()], 2);
  // Alice's remaining transactions follow in nonce order.
  auto rest = pool.take(100);
  ASSERT_EQ(rest.txs.size(), 14u);
  for (size_t i = 0; i < rest.txs.size(); ++i) EXPECT_EQ(rest.txs[i].nonce, i + 2);
}

}  // namespace
}  // namespace gridpact
