#include "api/receipt_cache.hpp"

namespace gridpact::api {

Result<std::shared_ptr<const ReceiptCache::Entry>> ReceiptCache::load(const Store& store,
                                                                      uint64_t height) {
  auto block = store.block(height);
  auto receipts = store.receipts(height);
  if (!block) return error(Code::kStorage, "block incomplete");
  std::vector<Hash32> tx_leaves, receipt_leaves;
  tx_leaves.reserve(block->txs.size());
  receipt_leaves.reserve(receipts.size());
  for (const auto& tx : block->txs) tx_leaves.push_back(merkle::leaf_hash(tx.id()));
  for (const auto& r : receipts) receipt_leaves.push_back(merkle::leaf_hash(r.hash()));
  return std::make_shared<const Entry>(Entry{std::move(*block), std::move(receipts),
                                             merkle::Tree(std::move(tx_leaves)),
                                             merkle::Tree(std::move(receipt_leaves))});
}

Result<ReceiptBundle> ReceiptCache::bundle(const Store& store, const Hash32& tx_id) {
  auto loc = store.find_tx(tx_id);
  if (!loc) return error(Code::kNotFound, "transaction " + tx_id.hex() + " is not committed");
  std::shared_ptr<const Entry> entry;
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(loc->height); it != entries_.end()) {
      it->second.second = ++tick_;
      entry = it->second.first;
    }
  }
  if (entry) {
    hits_++;
  } else {
    misses_++;
    // Built outside the lock: two first readers of one block may both build it; one wins.
    auto loaded = load(store, loc->height);
    if (!loaded) return loaded.status();
    entry = *loaded;
    std::lock_guard lock(mutex_);
    entries_[loc->height] = {entry, ++tick_};
    while (entries_.size() > capacity_) {
      auto oldest = entries_.begin();
      for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (it->second.second < oldest->second.second) oldest = it;
      entries_.erase(oldest);
    }
  }
  const uint32_t i = loc->index;
  if (i >= entry->block.txs.size() || i >= entry->receipts.size())
    return error(Code::kStorage, "block incomplete");
  return ReceiptBundle{entry->block.txs[i].encode(), entry->receipts[i].encode(),
                       entry->block.header.encode(), entry->tx_tree.prove(i),
                       entry->receipt_tree.prove(i)};
}

}  // namespace gridpact::api
