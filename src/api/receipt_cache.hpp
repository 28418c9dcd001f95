// Receipt bundles (GET /v1/tx/{id}) of recent blocks without rebuilding Merkle trees per
// call: the first request for a block reads it once and keeps its transactions, receipts
// and both trees; later requests for any transaction of it walk log n levels. At most
// `blocks` blocks are kept; the least recently used goes first.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>

#include "crypto/merkle.hpp"
#include "ledger/receipt_proof.hpp"
#include "ledger/store.hpp"

namespace gridpact::api {

class ReceiptCache {
 public:
  explicit ReceiptCache(size_t blocks = 16) : capacity_(blocks) {}
  // NOT_FOUND when the transaction is not committed.
  Result<ReceiptBundle> bundle(const Store& store, const Hash32& tx_id);
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  struct Entry {
    Block block;
    std::vector<Receipt> receipts;
    merkle::Tree tx_tree, receipt_tree;
  };
  static Result<std::shared_ptr<const Entry>> load(const Store& store, uint64_t height);

  size_t capacity_;
  std::mutex mutex_;
  std::map<uint64_t, std::pair<std::shared_ptr<const Entry>, uint64_t>> entries_;  // last use
  uint64_t tick_ = 0;
  std::atomic<uint64_t> hits_{0}, misses_{0};
};

}  // namespace gridpact::api
