#include "order/solo_orderer.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>

namespace gridpact {
namespace {

class QueueSource : public TxSource {
 public:
  void push(int n) {
    std::lock_guard lock(m_);
    for (int i = 0; i < n; ++i) {
      Transaction tx;
      tx.nonce = next_++;
      q_.push_back(tx);
    }
    cv_.notify_all();
  }
  OrderedBatch take(size_t max) override {
    std::lock_guard lock(m_);
    OrderedBatch out;
    while (!q_.empty() && out.txs.size() < max) {
      out.txs.push_back(q_.front());
      q_.pop_front();
    }
    return out;
  }
  size_t ready() const override {
    std::lock_guard lock(m_);
    return q_.size();
  }
  void wait_ready(size_t count, std::chrono::steady_clock::time_point deadline) override {
    std::unique_lock lock(m_);
    cv_.wait_until(lock, deadline, [&] { return q_.size() >= count; });
  }

 private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::deque<Transaction> q_;
  uint64_t next_ = 0;
};

}  // namespace

TEST(SoloOrderer, CutsFullBlocksInOrderAndIdleBlocks) {
  QueueSource source;
  SoloOrderer orderer(source,
                      {std::chrono::milliseconds(5000), std::chrono::milliseconds(200), 10});
  std::mutex m;
  std::vector<OrderedBatch> batches;
  source.push(25);
  orderer.start([&](OrderedBatch b) {
    std::lock_guard lock(m);
    batches.push_back(std::move(b));
  });
  // 25 ready with max 10: two full blocks at once, then the rest after the interval; with
  // a 5 s interval we only wait for the full ones.
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::lock_guard lock(m);
    if (batches.size() >= 2) break;
  }
  orderer.stop();
  ASSERT_GE(batches.size(), 2u);
  EXPECT_EQ(batches[0].txs.size(), 10u);
  EXPECT_EQ(batches[1].txs.size(), 10u);
  EXPECT_EQ(batches[0].txs[0].nonce, 0u);
  EXPECT_EQ(batches[1].txs[0].nonce, 10u);
  EXPECT_LE(batches[0].time_ms, batches[1].time_ms);
}

TEST(SoloOrderer, EmitsEmptyBlocksWhenIdle) {
  QueueSource source;
  SoloOrderer orderer(source, {std::chrono::milliseconds(20), std::chrono::milliseconds(50), 10});
  std::atomic<int> empty{0};
  orderer.start([&](OrderedBatch b) {
    if (b.txs.empty()) ++empty;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  orderer.stop();
  EXPECT_GE(empty.load(), 2);
  EXPECT_LE(empty.load(), 12);  // not one per interval: idle blocks are rationed
}

// A forward step of the leader's clock does not become block time beyond the bound, nor
// for good once the clock is set right again.
TEST(BlockClock, BoundsForwardClockSteps) {
  const uint64_t t0 = 1'800'000'000'000, day = 86'400'000;
  uint64_t wall = t0, mono = 5'000;
  BlockClock clock(
      std::chrono::milliseconds(1000), [&] { return wall; }, [&] { return mono; });
  EXPECT_EQ(clock.stamp(), t0);
  wall += 100, mono += 100;
  EXPECT_EQ(clock.stamp(), t0 + 100);
  wall += 300;  // a small correction passes
  mono += 100;
  EXPECT_EQ(clock.stamp(), t0 + 400);
  wall += day;  // the clock jumps a day ahead
  mono += 100;
  uint64_t t = clock.stamp();
  EXPECT_GE(t, t0 + 600);
  EXPECT_LE(t, t0 + 600 + 1000);
  // It stays ahead for ten seconds of blocks: block time gains at most a tenth extra.
  for (int i = 0; i < 100; ++i) {
    wall += 100, mono += 100;
    t = clock.stamp();
  }
  EXPECT_LE(t, t0 + 10'600 + 1000 + 1000 + 1);
  EXPECT_GE(t, t0 + 10'600);
  // Set right again: the stamps are back at the wall clock, not a day ahead.
  wall -= day;
  mono += 100;
  EXPECT_EQ(clock.stamp(), wall);
  // A step that persists is eventually followed (slewed).
  wall += 60'000;
  for (int i = 0; i < 7000; ++i) {
    wall += 100, mono += 100;
    t = clock.stamp();
  }
  EXPECT_EQ(t, wall);
}

TEST(SoloOrderer, IdleNodeCutsAtOnceWithoutWaitingForTheInterval) {
  QueueSource source;
  SoloOrderer orderer(source, {std::chrono::milliseconds(1000), std::chrono::seconds(60), 10});
  std::mutex m;
  std::condition_variable cv;
  std::vector<OrderedBatch> batches;
  orderer.start([&](OrderedBatch b) {
    std::lock_guard lock(m);
    batches.push_back(std::move(b));
    cv.notify_all();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // idle for a while
  auto start = std::chrono::steady_clock::now();
  source.push(1);
  std::unique_lock lock(m);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return !batches.empty(); }));
  auto took = std::chrono::steady_clock::now() - start;
  lock.unlock();
  orderer.stop();
  EXPECT_LT(took, std::chrono::milliseconds(200));  // the interval is 1 s
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].txs.size(), 1u);
}

TEST(SoloOrderer, WhatArrivesDuringABlockGoesIntoTheNextTogether) {
  QueueSource source;
  SoloOrderer orderer(source, {std::chrono::milliseconds(1000), std::chrono::seconds(60), 100});
  std::mutex m;
  std::vector<size_t> sizes;
  orderer.start([&](OrderedBatch b) {
    // A slow block (execution and hand-over): 7 more transactions arrive meanwhile.
    if (sizes.empty()) source.push(7);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard lock(m);
    sizes.push_back(b.txs.size());
  });
  source.push(1);
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard lock(m);
    if (sizes.size() >= 2) break;
  }
  orderer.stop();
  ASSERT_GE(sizes.size(), 2u);
  EXPECT_EQ(sizes[0], 1u);
  EXPECT_EQ(sizes[1], 7u);
}

TEST(SoloOrderer, WhileTheCommitterIsBusyABlockFillsUntilFullOrFree) {
  QueueSource source;
  std::atomic<bool> busy{true};
  SoloOrderer::Config config{std::chrono::milliseconds(5000), std::chrono::seconds(60), 10};
  config.wait_idle = [&](std::chrono::steady_clock::time_point until) {
    while (busy && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    return !busy;
  };
  SoloOrderer orderer(source, config);
  std::mutex m;
  std::vector<size_t> sizes;
  orderer.start([&](OrderedBatch b) {
    std::lock_guard lock(m);
    sizes.push_back(b.txs.size());
  });
  auto count = [&] {
    std::lock_guard lock(m);
    return sizes.size();
  };
  source.push(3);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(count(), 0u);  // busy, not full: still filling
  source.push(9);          // 12 ready: a full block of 10 goes at once
  for (int i = 0; i < 100 && count() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(count(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(count(), 1u);  // the other 2 wait for the committer
  busy = false;
  for (int i = 0; i < 100 && count() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  orderer.stop();
  std::lock_guard lock(m);
  ASSERT_EQ(sizes.size(), 2u);
  EXPECT_EQ(sizes[0], 10u);
  EXPECT_EQ(sizes[1], 2u);
}

}  // namespace gridpact
