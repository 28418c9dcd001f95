// Cuts a block every `interval` or as soon as `max_txs` are ready, whichever is first.
// With nothing to order it still cuts an empty block every `idle_interval`, so that
// time-driven work (gate closure, billing) happens on a quiet chain too.
#pragma once

#include <atomic>
#include <thread>

#include "order/orderer.hpp"

namespace gridpact {

class SoloOrderer : public Orderer {
 public:
  struct Config {
    std::chrono::milliseconds interval{100};
    std::chrono::milliseconds idle_interval{1000};
    size_t max_txs = 5000;
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

}  // namespace gridpact
