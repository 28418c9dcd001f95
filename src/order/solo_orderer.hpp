// Cuts a block every `interval` or as soon as `max_txs` are ready, whichever is first.
// With nothing to order it still cuts an empty block every `idle_interval`, so that
// time-driven work (gate closure, billing) happens on a quiet chain too.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

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
    std::chrono::milliseconds max_clock_ahead{1000};  // see BlockClock
  };
  SoloOrderer(TxSource& source, Config config) : source_(source), config_(config) {}
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
