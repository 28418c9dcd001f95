#include "order/solo_orderer.hpp"

namespace gridpact {

uint64_t wall_clock_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

void SoloOrderer::start(Deliver deliver) {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this, deliver = std::move(deliver)] { run(deliver); });
}

void SoloOrderer::stop() {
  running_ = false;
  if (thread_.joinable()) thread_.join();
}

void SoloOrderer::run(Deliver deliver) {
  using clock = std::chrono::steady_clock;
  auto last_block = clock::now();
  while (running_) {
    // Wait for a full block, but no longer than the interval; wake often enough to stop.
    auto deadline = clock::now() + config_.interval;
    while (running_ && clock::now() < deadline && source_.ready() < config_.max_txs)
      source_.wait_ready(config_.max_txs,
                         std::min(deadline, clock::now() + std::chrono::milliseconds(50)));
    if (!running_) break;
    if (source_.ready() == 0 && clock::now() - last_block < config_.idle_interval) continue;
    OrderedBatch batch = source_.take(config_.max_txs);
    batch.time_ms = wall_clock_ms();
    deliver(std::move(batch));
    last_block = clock::now();
  }
}

}  // namespace gridpact
