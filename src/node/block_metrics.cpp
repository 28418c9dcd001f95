#include "node/block_metrics.hpp"

#include <cstdio>

namespace gridpact {
namespace {

// Microseconds: 100 us to 10 s, about three buckets a decade.
std::vector<uint64_t> time_bounds() {
  return {100,    250,     500,     1'000,   2'500,     5'000,     10'000,    25'000,
          50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 10'000'000};
}
std::vector<uint64_t> size_bounds() {
  return {0, 1, 10, 100, 500, 1'000, 2'000, 5'000, 10'000, 50'000};
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

Histogram::Histogram(std::vector<uint64_t> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::observe(uint64_t value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::string Histogram::text(const std::string& name, const std::string& labels,
                            double scale) const {
  std::string out;
  std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string le = i < bounds_.size() ? number(static_cast<double>(bounds_[i]) / scale) : "+Inf";
    out += name + "_bucket{" + labels + sep + "le=\"" + le + "\"} " + std::to_string(cumulative) +
           "\n";
  }
  std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + number(static_cast<double>(sum()) / scale) + "\n";
  out += name + "_count" + braces + " " + std::to_string(cumulative) + "\n";
  return out;
}

BlockMetrics::BlockMetrics(std::vector<std::string> module_names)
    : modules_(std::move(module_names)),
      execute_(time_bounds()),
      commit_(time_bounds()),
      fsync_(time_bounds()),
      txs_(size_bounds()) {
  for (size_t i = 0; i < modules_.size(); ++i)
    end_block_.push_back(std::make_unique<Histogram>(time_bounds()));
}

void BlockMetrics::record(const Block& b) {
  execute_.observe(b.execute_us);
  commit_.observe(b.commit_us);
  fsync_.observe(b.fsync_us);
  txs_.observe(b.txs);
  for (size_t i = 0; i < b.end_block_us.size() && i < end_block_.size(); ++i)
    end_block_[i]->observe(b.end_block_us[i]);
  std::lock_guard lock(recent_mutex_);
  if (recent_.size() == kRecent) recent_.pop_front();
  recent_.push_back(b);
}

std::optional<BlockMetrics::Block> BlockMetrics::recent(uint64_t height) const {
  std::lock_guard lock(recent_mutex_);
  for (const Block& b : recent_)
    if (b.height == height) return b;
  return std::nullopt;
}

std::string BlockMetrics::prometheus() const {
  std::string out;
  auto head = [&](const char* name, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " histogram\n";
  };
  head("gridpact_block_execute_seconds", "Time to execute a block, end_block included.");
  out += execute_.text("gridpact_block_execute_seconds", "", 1e6);
  head("gridpact_block_end_block_seconds", "Time of each module's end_block in a block.");
  for (size_t i = 0; i < modules_.size(); ++i)
    out += end_block_[i]->text("gridpact_block_end_block_seconds", "module=\"" + modules_[i] + "\"",
                               1e6);
  head("gridpact_block_commit_seconds", "Time to commit a block to the store, fsync included.");
  out += commit_.text("gridpact_block_commit_seconds", "", 1e6);
  head("gridpact_block_fsync_seconds", "Time of a block's write to the store's log and its fsync.");
  out += fsync_.text("gridpact_block_fsync_seconds", "", 1e6);
  head("gridpact_block_txs", "Transactions per committed block.");
  out += txs_.text("gridpact_block_txs", "", 1);
  return out;
}

}  // namespace gridpact
