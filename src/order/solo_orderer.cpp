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
    // Wait for the first transaction, but no longer than an idle block is due; wake often
    // enough to notice stop().
    auto idle_due = last_block + config_.idle_interval;
    while (running_ && source_.ready() == 0 && clock::now() < idle_due)
      source_.wait_ready(1, std::min(idle_due, clock::now() + std::chrono::milliseconds(50)));
    if (!running_) break;
    // The previous block is handed over (deliver returned): cut now with all that waits.
    OrderedBatch batch = source_.take(config_.max_txs);
    batch.time_ms = wall_clock_ms();
    deliver(std::move(batch));
    last_block = clock::now();
  }
}

}  // namespace gridpact
