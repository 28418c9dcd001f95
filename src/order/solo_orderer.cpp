#include "order/solo_orderer.hpp"

namespace gridpact {

uint64_t wall_clock_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

uint64_t monotonic_clock_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

BlockClock::BlockClock(std::chrono::milliseconds max_ahead, Millis wall, Millis monotonic)
    : max_ahead_ms_(static_cast<uint64_t>(max_ahead.count())),
      wall_(wall ? std::move(wall) : Millis(wall_clock_ms)),
      monotonic_(monotonic ? std::move(monotonic) : Millis(monotonic_clock_ms)) {}

uint64_t BlockClock::stamp() {
  const uint64_t wall = wall_(), mono = monotonic_();
  const int64_t wall_offset = static_cast<int64_t>(wall) - static_cast<int64_t>(mono);
  if (!started_) {
    started_ = true;
    offset_ = wall_offset;
  } else if (wall_offset < offset_) {
    offset_ = wall_offset;  // a backward step: followed at once
  } else {
    // A forward step beyond the bound is followed at a tenth of the real time elapsed.
    const int64_t excess = wall_offset - offset_ - static_cast<int64_t>(max_ahead_ms_);
    if (excess > 0)
      offset_ += std::min<int64_t>(excess, static_cast<int64_t>(mono - last_monotonic_) / 10);
  }
  const uint64_t reference = static_cast<uint64_t>(static_cast<int64_t>(mono) + offset_);
  uint64_t t = std::min(wall, reference + max_ahead_ms_);
  if (last_stamp_ && t > last_stamp_ + (mono - last_monotonic_) + max_ahead_ms_)
    t = last_stamp_ + (mono - last_monotonic_) + max_ahead_ms_;
  last_monotonic_ = mono;
  last_stamp_ = t;
  return t;
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
  BlockClock block_clock(config_.max_clock_ahead);
  while (running_) {
    // Wait for the first transaction, but no longer than an idle block is due; wake often
    // enough to notice stop().
    auto idle_due = last_block + config_.idle_interval;
    while (running_ && source_.ready() == 0 && clock::now() < idle_due)
      source_.wait_ready(1, std::min(idle_due, clock::now() + std::chrono::milliseconds(50)));
    // While the previous block is still being written, let this one fill (at most the
    // interval): cut when the write ends, or when the block is full (seen within a
    // millisecond).
    auto fill_until = clock::now() + config_.interval;
    while (running_ && config_.wait_idle && source_.ready() < config_.max_txs &&
           clock::now() < fill_until)
      if (config_.wait_idle(std::min(fill_until, clock::now() + std::chrono::milliseconds(1))))
        break;
    if (!running_) break;
    // The previous block is handed over (deliver returned): cut now with all that waits.
    OrderedBatch batch = source_.take(config_.max_txs);
    batch.time_ms = block_clock.stamp();
    deliver(std::move(batch));
    last_block = clock::now();
  }
}

}  // namespace gridpact
