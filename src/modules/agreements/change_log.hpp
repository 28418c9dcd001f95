// What an agreements transaction or block changes beyond its own records: the block's change
// log (agr/log/, read by the SQL read model) and the due index (agr/due/, read by end_block).
// Shared by the module's source files only.
#pragma once

#include <map>
#include <span>
#include <vector>

#include "modules/agreements/records.hpp"

namespace gridpact::agreements {

// Appends to the block's change log; one counter read and write per transaction/block.
class Log {
 public:
  Log(StateOverlay& s, uint64_t height) : s_(s), height_(height) {
    auto v = s.get(kLogCounter);
    if (v && v->size() == 12 && decode_u64(v->substr(0, 8)) == height)
      seq_ = codec::Reader(std::string_view(*v).substr(8)).u32();
  }
  ~Log() {
    flush_billed();
    if (dirty_) s_.put(kLogCounter, encode_u64(height_) + be32(seq_));
  }
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;
  void add_trade_rating(const TradeRef& t, const PublicKey& rater) {
    std::string v(1, static_cast<char>(LogKind::kTradeRating));
    v += trade_part(t);
    v += std::string(rater.view());
    s_.put("agr/log/" + encode_u64(height_) + be32(seq_++), std::move(v));
    dirty_ = true;
  }
  // A billed period (payment and agreement changed). Buffered: a block's billed periods
  // take one log entry per kBilledBatch of them, not one each.
  void billed(uint64_t id, uint32_t period) {
    if (billed_.empty()) billed_.assign(1, static_cast<char>(kBilledBatchKind));
    billed_ += encode_u64(id) + be32(period);
    if ((billed_.size() - 1) / 12 == kBilledBatch) flush_billed();
  }
  void add(LogKind kind, uint64_t id, uint32_t period = 0, const PublicKey* rater = nullptr) {
    std::string v(1, static_cast<char>(kind));
    v += encode_u64(id);
    if (kind == LogKind::kPayment || kind == LogKind::kRating || kind == LogKind::kBilled)
      v += be32(period);
    if (rater) v += std::string(rater->view());
    s_.put("agr/log/" + encode_u64(height_) + be32(seq_++), std::move(v));
    dirty_ = true;
  }

 private:
  void flush_billed() {
    if (billed_.empty()) return;
    s_.put("agr/log/" + encode_u64(height_) + be32(seq_++), std::move(billed_));
    billed_.clear();
    dirty_ = true;
  }
  StateOverlay& s_;
  uint64_t height_;
  uint32_t seq_ = 0;
  bool dirty_ = false;
  std::string billed_;
};

// The due index: agr/due/<time u64><chunk u32> holds up to kDueChunk packed u64 ids of
// agreements due at `time`, agr/duen/<time u64> the u64 number of ids appended for that
// time. Entries are never removed one by one: an agreement rescheduled elsewhere leaves a
// stale entry, skipped when its time comes (its record's next_due_ms differs), and a
// time's chunks are erased together when that time is processed. So rescheduling costs a
// share of a chunk write, not an erase and a put per agreement and period.
constexpr uint64_t kDueChunk = 512;
inline std::string due_chunk_key(uint64_t time_ms, uint64_t chunk) {
  return "agr/due/" + encode_u64(time_ms) + be32(static_cast<uint32_t>(chunk));
}
inline std::string due_count_key(uint64_t time_ms) {
  return "agr/duen/" + encode_u64(time_ms);
}
class Due {
 public:
  explicit Due(StateOverlay& s) : s_(s) {}
  ~Due() { flush(); }
  Due(const Due&) = delete;
  Due& operator=(const Due&) = delete;
  void add(uint64_t time_ms, uint64_t id) { pending_[time_ms].push_back(id); }
  void flush() {
    for (const auto& [time, ids] : pending_) {
      std::string count_key = due_count_key(time);
      uint64_t n = get_u64(s_, count_key);
      std::string chunk;
      if (n % kDueChunk) chunk = s_.get(due_chunk_key(time, n / kDueChunk)).value_or("");
      for (uint64_t id : ids) {
        chunk += encode_u64(id);
        if (++n % kDueChunk == 0) {
          s_.put(due_chunk_key(time, n / kDueChunk - 1), std::move(chunk));
          chunk.clear();
        }
      }
      if (n % kDueChunk) s_.put(due_chunk_key(time, n / kDueChunk), std::move(chunk));
      s_.put(count_key, encode_u64(n));
    }
    pending_.clear();
  }

 private:
  StateOverlay& s_;
  std::map<uint64_t, std::vector<uint64_t>> pending_;
};

// What processing an agreement does beyond its own keys: entries of the change log and of
// the due index. Recorded, then applied to the Log and the Due index in order; billing
// shards apply theirs in due order, so the log's sequence numbers and the index's chunks
// are the same however the work was split (see ledger/parallel.hpp).
class Effects {
 public:
  // Tags what is recorded next with the due entry being processed.
  void at(uint32_t entry) { entry_ = entry; }
  void log(LogKind kind, uint64_t id, uint32_t period = 0) {
    items_.push_back({entry_, Op::kLog, kind, period, id, 0});
  }
  void log_billed(uint64_t id, uint32_t period) {
    items_.push_back({entry_, Op::kLogBilled, LogKind::kBilled, period, id, 0});
  }
  void schedule(uint64_t time_ms, uint64_t id) {
    items_.push_back({entry_, Op::kSchedule, LogKind::kAgreement, 0, id, time_ms});
  }
  void apply(Log& log, Due& due) const {
    for (const auto& item : items_) apply(item, log, due);
  }
  // A handler's effects: the due index is written to `s` at once.
  void apply(Log& log, StateOverlay& s) const {
    Due due(s);
    apply(log, due);
  }
  // Applies the effects of shards in entry order: entry e was processed by shard
  // shard_of[e], and each shard recorded its entries in increasing order.
  static void apply_in_order(std::span<const Effects> shards, std::span<const uint8_t> shard_of,
                             Log& log, Due& due) {
    std::vector<size_t> next(shards.size(), 0);
    for (uint32_t e = 0; e < shard_of.size(); ++e) {
      const auto& items = shards[shard_of[e]].items_;
      size_t& i = next[shard_of[e]];
      for (; i < items.size() && items[i].entry == e; ++i) apply(items[i], log, due);
    }
  }

 private:
  enum class Op : uint8_t { kLog, kLogBilled, kSchedule };
  struct Item {
    uint32_t entry;
    Op op;
    LogKind kind;
    uint32_t period;
    uint64_t id, time_ms;
  };
  static void apply(const Item& item, Log& log, Due& due) {
    switch (item.op) {
      case Op::kLog:
        log.add(item.kind, item.id, item.period);
        break;
      case Op::kLogBilled:
        log.billed(item.id, item.period);
        break;
      case Op::kSchedule:
        due.add(item.time_ms, item.id);
        break;
    }
  }
  uint32_t entry_ = 0;
  std::vector<Item> items_;
};

}  // namespace gridpact::agreements
