// Cuts blocks on one node with group commit: as soon as the previous block has been handed
// to the committer (deliver returned) and a transaction is waiting, the next block is cut
// with everything waiting, up to `max_txs`. Under load, what arrives while one block
// executes and the one before it is written goes into the next block together, so blocks
// grow with the load; on an idle node a transaction waits for no timer.
//
// `interval` is the longest a waiting transaction is held back for a fuller block, which
// happens only while the previous block is still being written (`wait_idle`): this one
// could not be handed over before that ends anyway, and a fuller block costs less per
// transaction. The block is cut the moment the write ends (`wait_idle` returns then, not
// at a poll), and a full block (`max_txs` ready, looked at each millisecond) goes at once.
// With nothing to order it still cuts an empty block every `idle_interval`, so that
// time-driven work (gate closure, billing) happens on a quiet chain too.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include "ledger/block_time.hpp"
#include "order/orderer.hpp"

namespace gridpact {

// The time a leader stamps on its blocks: the wall clock, but never more than `max_ahead`
// ahead of a reference that runs with the monotonic clock. A forward step of the wall
// clock (a bad NTP answer, an operator's typo) moves block time at most `max_ahead` at
// once; a step that persists is followed at a tenth of real time extra (slewed), so a step
// that is undone leaves block time ahead by at most `max_ahead` plus a tenth of how long
// it lasted, not for good. Backward steps are followed at once (the executor keeps block
// time from going back). Within a run, a block's time is also at most the previous
// block's plus the monotonic time elapsed plus `max_ahead`.
class BlockClock {
 public:
  using Millis = std::function<uint64_t()>;
  explicit BlockClock(std::chrono::milliseconds max_ahead, Millis wall = {}, Millis monotonic = {});
  uint64_t stamp();

 private:
  uint64_t max_ahead_ms_;
  Millis wall_, monotonic_;
  bool started_ = false;
  int64_t offset_ = 0;  // reference = monotonic + offset_
  uint64_t last_monotonic_ = 0, last_stamp_ = 0;
};

class SoloOrderer : public Orderer {
 public:
  struct Config {
    std::chrono::milliseconds interval{100};
    std::chrono::milliseconds idle_interval{1000};
    size_t max_txs = 5000;
    std::chrono::milliseconds max_clock_ahead{kMaxBlockTimeAheadOfClockMs};  // see BlockClock
    // Waits until the committer no longer holds the previous block (true) or until the
    // time given (false, still busy); none: never busy.
    std::function<bool(std::chrono::steady_clock::time_point)> wait_idle = {};
  };
  SoloOrderer(TxSource& source, Config config) : source_(source), config_(std::move(config)) {}
  ~SoloOrderer() override { stop(); }

  void start(Deliver deliver) override;
  void stop() override;

 private:
  void run(Deliver deliver);
  TxSource& source_;
  Config config_;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

uint64_t wall_clock_ms();
uint64_t monotonic_clock_ms();

}  // namespace gridpact
