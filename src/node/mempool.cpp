#include "node/mempool.hpp"

namespace gridpact {

Mempool::Mempool(Limits limits, std::string chain_id, NonceReader committed_nonce, Check check)
    : limits_(limits),
      chain_id_(std::move(chain_id)),
      committed_nonce_(std::move(committed_nonce)),
      check_(std::move(check)) {}

Result<Hash32> Mempool::add(Transaction tx) {
  if (tx.chain_id != chain_id_)
    return error(Code::kWrongChain, "transaction is for chain '" + tx.chain_id + "'");
  if (Status s = check_(tx); !s) return s;
  if (!tx.signature_valid()) return error(Code::kBadSignature, "signature does not verify");
  Hash32 id = tx.id();

  std::unique_lock lock(mutex_);
  if (total_ >= limits_.max_txs) return error(Code::kMempoolFull, "mempool is full, retry later");
  auto it = senders_.find(tx.sender);
  if (it == senders_.end()) {
    // Nothing of this sender is pending, so its committed nonce cannot move under us.
    lock.unlock();
    uint64_t committed = committed_nonce_(tx.sender);
    lock.lock();
    it = senders_.try_emplace(tx.sender, Sender{committed, 0, 0, {}}).first;
  }
  Sender& s = it->second;
  if (tx.nonce < s.next) {
    Status reused =
        error(Code::kNonceReused, "nonce " + std::to_string(tx.nonce) + " already used; next is " +
                                      std::to_string(s.next));
    maybe_forget(tx.sender, s);  // may erase `s`: nothing below reads it
    return reused;
  }
  if (tx.nonce > s.next) {
    if (tx.nonce - s.next > limits_.max_nonce_ahead) {
      Status too_far =
          error(Code::kNonceTooFar, "nonce " + std::to_string(tx.nonce) + " is more than " +
                                        std::to_string(limits_.max_nonce_ahead) + " ahead of " +
                                        std::to_string(s.next));
      maybe_forget(tx.sender, s);  // a refused sender leaves no record behind
      return too_far;
    }
    if (s.waiting.count(tx.nonce)) return error(Code::kDuplicateTx, "nonce already waiting");
    s.waiting.emplace(tx.nonce, Admitted{std::move(tx), id});
    ++total_;
    return id;
  }
  ready_.push_back({std::move(tx), id});
  ++s.next;
  ++s.queued;
  ++total_;
  // Promote waiting successors that are now contiguous.
  for (auto w = s.waiting.begin(); w != s.waiting.end() && w->first == s.next;
       w = s.waiting.erase(w)) {
    ready_.push_back(std::move(w->second));
    ++s.next;
    ++s.queued;
  }
  if (!wake_at_.empty() && ready_.size() >= *wake_at_.begin()) ready_cv_.notify_all();
  return id;
}

OrderedBatch Mempool::take(size_t max) {
  std::lock_guard lock(mutex_);
  OrderedBatch out;
  const size_t n = std::min(max, ready_.size());
  out.txs.reserve(n);
  out.tx_ids.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Admitted& next = ready_.front();
    Sender& s = senders_.at(next.tx.sender);
    --s.queued;
    ++s.in_flight;
    out.txs.push_back(std::move(next.tx));
    out.tx_ids.push_back(next.id);
    ready_.pop_front();
  }
  total_ -= n;
  return out;
}

size_t Mempool::ready() const {
  std::lock_guard lock(mutex_);
  return ready_.size();
}

void Mempool::wait_ready(size_t count, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  auto mine = wake_at_.insert(count);
  ready_cv_.wait_until(lock, deadline, [&] { return ready_.size() >= count; });
  wake_at_.erase(mine);
}

void Mempool::committed(const std::vector<Transaction>& txs) {
  std::lock_guard lock(mutex_);
  for (const auto& tx : txs) {
    auto it = senders_.find(tx.sender);
    if (it == senders_.end()) continue;
    if (it->second.in_flight > 0) --it->second.in_flight;
    maybe_forget(tx.sender, it->second);
  }
}

void Mempool::maybe_forget(const PublicKey& who, Sender& s) {
  // An idle sender is forgotten; its next transaction re-reads the committed nonce.
  if (s.queued == 0 && s.in_flight == 0 && s.waiting.empty()) senders_.erase(who);
}

size_t Mempool::size() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace gridpact
