// Per-block timings of the node, as histograms: how long execution, each module's
// end_block (clearing, billing), the commit and its write-ahead-log fsync take, and how
// many transactions each block carries. Recorded by the node's threads without locks
// (atomic counters); read by /metrics in the Prometheus text format.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace gridpact {

// A fixed-bucket histogram. Each bucket counts observations <= its bound; the last bound is
// +Inf. Thread-safe; reads see each counter consistently, not all counters at one instant.
class Histogram {
 public:
  explicit Histogram(std::vector<uint64_t> bounds);
  void observe(uint64_t value);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t sum() const { return sum_.load(std::memory_order_relaxed); }
  // Prometheus lines of histogram `name` with optional `labels` (`module="market"`);
  // values are divided by `scale` (1e6 turns microseconds into seconds).
  std::string text(const std::string& name, const std::string& labels, double scale) const;

 private:
  std::vector<uint64_t> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // cumulative on output only
  std::atomic<uint64_t> count_{0}, sum_{0};
};

class BlockMetrics {
 public:
  // One end_block histogram per module, in execution order.
  explicit BlockMetrics(std::vector<std::string> module_names);

  struct Block {
    uint64_t execute_us = 0;             // the whole execution, end_block included
    std::vector<uint32_t> end_block_us;  // per module, as BlockMetrics was built
    uint64_t commit_us = 0;              // Store::commit, fsync included
    uint64_t fsync_us = 0;               // the store's write of the block (WAL append + fsync)
    uint64_t txs = 0;
    uint64_t height = 0;
  };
  void record(const Block& b);
  uint64_t blocks() const { return execute_.count(); }
  // The timings of block `height`, if it is among the last kRecent recorded.
  std::optional<Block> recent(uint64_t height) const;

  // HELP/TYPE and samples of every histogram, ready to append to /metrics.
  std::string prometheus() const;

 private:
  std::vector<std::string> modules_;
  Histogram execute_, commit_, fsync_, txs_;
  std::vector<std::unique_ptr<Histogram>> end_block_;
  static constexpr size_t kRecent = 256;
  mutable std::mutex recent_mutex_;
  std::deque<Block> recent_;  // oldest first
};

}  // namespace gridpact
