// The state a block builds on (the store, or a staged block over it), with the results of
// small scans kept for the block's length.
//
// Why: a block's transactions scan the same short ranges again and again (the meters'
// period schedule: every order and every reading asks it), and each scan of the store
// opens a RocksDB iterator, a few microseconds each. The base does not change while a block
// executes (a staged block's writes over the store read the same before and after its
// commit), so a kept result is exact: a block's overlay still lays its own writes on top.
//
// Bounded: a range of more than kMaxEntries keys is not kept (it is scanned from the base
// each time; the first attempt reads at most kMaxEntries + 1 of its keys), nor is a range
// that would take the kept results past kMaxRanges ranges or kMaxBytes bytes. Thread-safe: a
// block's parallel end_block reads through it from several threads.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ledger/state.hpp"

namespace gridpact {

class ScanMemo : public StateReader {
 public:
  static constexpr size_t kMaxEntries = 16;
  static constexpr size_t kMaxRanges = 4096;
  static constexpr size_t kMaxBytes = 4 << 20;

  explicit ScanMemo(const StateReader& base) : base_(base) {}

  std::optional<std::string> get(std::string_view key) const override { return base_.get(key); }
  void scan(std::string_view prefix, const Visitor& fn) const override;

  size_t ranges_kept() const;  // for tests

 private:
  using Entries = std::vector<std::pair<std::string, std::string>>;
  // nullptr: the range is not kept (too large).
  using Kept = std::shared_ptr<const Entries>;

  const StateReader& base_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, Kept, std::less<>> kept_;
  mutable size_t bytes_ = 0;
};

}  // namespace gridpact
