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
    // While the previous block is still being written, let this one fill (at most the
    // interval); polled each millisecond, so it is cut within one of the write's end.
    auto fill_until = clock::now() + config_.interval;
    while (running_ && config_.busy && source_.ready() < config_.max_txs &&
           clock::now() < fill_until && config_.busy())
      source_.wait_ready(config_.max_txs,
                         std::min(fill_until, clock::now() + std::chrono::milliseconds(1)));
    if (!running_) break;
    // The previous block is handed over (deliver returned): cut now with all that waits.
    OrderedBatch batch = source_.take(config_.max_txs);
    batch.time_ms = wall_clock_ms();
    deliver(std::move(batch));
    last_block = clock::now();
  }
}

}  // namespace gridpact
