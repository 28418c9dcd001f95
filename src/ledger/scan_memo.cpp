#include "ledger/scan_memo.hpp"

namespace gridpact {

void ScanMemo::scan(std::string_view prefix, const Visitor& fn) const {
  Kept kept;
  bool known = false;
  {
    std::lock_guard lock(mutex_);
    if (auto it = kept_.find(prefix); it != kept_.end()) {
      kept = it->second;
      known = true;
    }
  }
  if (!known) {
    auto entries = std::make_shared<Entries>();
    size_t bytes = 0;
    bool small = true;
    base_.scan(prefix, [&](std::string_view k, std::string_view v) {
      if (entries->size() == kMaxEntries) {
        small = false;
        return false;
      }
      bytes += k.size() + v.size();
      entries->emplace_back(k, v);
      return true;
    });
    Kept result = small ? Kept(std::move(entries)) : nullptr;
    std::lock_guard lock(mutex_);
    if (kept_.size() < kMaxRanges && (!small || bytes_ + bytes <= kMaxBytes) &&
        kept_.try_emplace(std::string(prefix), result).second && small)
      bytes_ += bytes;
    kept = std::move(result);
  }
  if (!kept) return base_.scan(prefix, fn);
  for (const auto& [k, v] : *kept)
    if (!fn(k, v)) return;
}

size_t ScanMemo::ranges_kept() const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (const auto& [prefix, kept] : kept_) n += kept ? 1 : 0;
  return n;
}

}  // namespace gridpact
