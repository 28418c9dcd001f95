#include "node/mempool.hpp"

namespace gridpact {

Mempool::Mempool(Limits limits, std::string chain_id, NonceReader committed_nonce, Check check,
                 Clock clock, Standing standing)
    : limits_(limits),
      chain_id_(std::move(chain_id)),
      committed_nonce_(std::move(committed_nonce)),
      check_(std::move(check)),
      clock_(std::move(clock)),
      standing_(std::move(standing)) {}

Result<Hash32> Mempool::add(Transaction tx) {
  return admit(std::move(tx), nullptr);
}

Result<Hash32> Mempool::add(Transaction tx, const Hash32& verified_id) {
  return admit(std::move(tx), &verified_id);
}

Result<Hash32> Mempool::admit(Transaction tx, const Hash32* verified_id) {
  if (tx.chain_id != chain_id_)
    return error(Code::kWrongChain, "transaction is for chain '" + tx.chain_id + "'");
  if (Status s = check_(tx); !s) return s;
  Hash32 id = tx.id();
  if (!(verified_id && id == *verified_id) && !tx.signature_valid())
    return error(Code::kBadSignature, "signature does not verify");
  const size_t size = tx.encoded_size();
  const auto now = clock_();

  std::unique_lock lock(mutex_);
  expire_waiting(now);
  auto it = senders_.find(tx.sender);
  if (it == senders_.end()) {
    // Nothing of this sender is pending, so its committed nonce cannot move under us.
    lock.unlock();
    uint64_t committed = committed_nonce_(tx.sender);
    bool newcomer = committed == 0 && !(standing_ && standing_(tx.sender));
    lock.lock();
    it = senders_.try_emplace(tx.sender).first;
    if (it->second.pending() == 0 && it->second.in_flight == 0) {
      it->second.next = committed;
      it->second.is_new = newcomer;
    }
  }
  Sender& s = it->second;
  if (tx.nonce < s.next) {
    Status reused =
        error(Code::kNonceReused, "nonce " + std::to_string(tx.nonce) + " already used; next is " +
                                      std::to_string(s.next));
    maybe_forget(it);  // may erase `s`: nothing below reads it
    return reused;
  }
  if (tx.nonce - s.next > limits_.max_nonce_ahead) {
    Status too_far =
        error(Code::kNonceTooFar, "nonce " + std::to_string(tx.nonce) + " is more than " +
                                      std::to_string(limits_.max_nonce_ahead) + " ahead of " +
                                      std::to_string(s.next));
    maybe_forget(it);  // a refused sender leaves no record behind
    return too_far;
  }
  const bool waits = tx.nonce > s.next;
  if (waits && s.waiting.count(tx.nonce)) return error(Code::kDuplicateTx, "nonce already waiting");
  const size_t quota = s.is_new ? limits_.max_per_new_sender : limits_.max_per_sender;
  if (s.pending() >= quota) {
    Status over = error(Code::kSenderQuota,
                        "a sender" + std::string(s.is_new ? " with no committed transaction" : "") +
                            " may have at most " + std::to_string(quota) + " pending transactions");
    maybe_forget(it);
    return over;
  }
  // Room: a transaction that is ready at once displaces the oldest waiting ones; one that
  // would wait itself displaces nothing.
  auto new_senders_full = [&] { return s.is_new && new_sender_txs_ >= limits_.max_new_sender_txs; };
  while (full(size) || new_senders_full())
    if (waits || !evict_oldest_waiting(&it->first)) {
      Status refused = new_senders_full()
                           ? error(Code::kSenderQuota,
                                   "senders with no committed transaction may together have at "
                                   "most " +
                                       std::to_string(limits_.max_new_sender_txs) +
                                       " pending transactions, retry later")
                           : error(Code::kMempoolFull, "mempool is full, retry later");
      maybe_forget(it);
      return refused;
    }
  count_in(s, size);
  if (waits) {
    const uint64_t seq = next_seq_++, nonce = tx.nonce;
    s.waiting.emplace(nonce, Waiting{{std::move(tx), id, size}, seq});
    by_age_.emplace(seq, WaitingRef{now, it->first, nonce});
    return id;
  }
  const bool had_ready = !s.ready.empty();
  s.ready.push_back({std::move(tx), id, size});
  ++s.next;
  ++ready_count_;
  // Promote waiting successors that are now contiguous.
  for (auto w = s.waiting.begin(); w != s.waiting.end() && w->first == s.next;
       w = s.waiting.erase(w)) {
    by_age_.erase(w->second.seq);
    s.ready.push_back(std::move(w->second.admitted));
    ++s.next;
    ++ready_count_;
  }
  if (!had_ready) turns_.push_back(it->first);
  if (!wake_at_.empty() && ready_count_ >= *wake_at_.begin()) ready_cv_.notify_all();
  return id;
}

OrderedBatch Mempool::take(size_t max) {
  std::lock_guard lock(mutex_);
  OrderedBatch out;
  const size_t n = std::min(max, ready_count_);
  out.txs.reserve(n);
  out.tx_ids.reserve(n);
  // Round robin: the sender at the front gives one transaction and, if it has more, goes
  // to the back of the line.
  while (out.txs.size() < n) {
    auto it = senders_.find(turns_.front());
    turns_.pop_front();
    Sender& s = it->second;
    Admitted& next = s.ready.front();
    count_out(s, next.bytes);
    out.txs.push_back(std::move(next.tx));
    out.tx_ids.push_back(next.id);
    s.ready.pop_front();
    --ready_count_;
    ++s.in_flight;
    if (!s.ready.empty()) turns_.push_back(it->first);
  }
  return out;
}

size_t Mempool::ready() const {
  std::lock_guard lock(mutex_);
  return ready_count_;
}

void Mempool::wait_ready(size_t count, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  auto mine = wake_at_.insert(count);
  ready_cv_.wait_until(lock, deadline, [&] { return ready_count_ >= count; });
  wake_at_.erase(mine);
}

void Mempool::committed(const std::vector<Transaction>& txs) {
  std::vector<PublicKey> refresh;
  {
    std::lock_guard lock(mutex_);
    for (const auto& tx : txs) {
      auto it = senders_.find(tx.sender);
      if (it == senders_.end()) continue;
      Sender& s = it->second;
      if (s.in_flight > 0)
        --s.in_flight;
      else if (s.ready.empty() && !s.waiting.empty())
        // Ordered elsewhere (a cluster: the sender's client used another node): what waits
        // here behind that nonce may be next now.
        refresh.push_back(tx.sender);
      maybe_forget(it);
    }
  }
  for (const PublicKey& sender : refresh) catch_up(sender, committed_nonce_(sender));
}

void Mempool::catch_up(const PublicKey& sender, uint64_t committed) {
  std::lock_guard lock(mutex_);
  auto it = senders_.find(sender);
  if (it == senders_.end()) return;
  Sender& s = it->second;
  if (s.in_flight > 0 || !s.ready.empty() || committed <= s.next) return;
  s.next = committed;
  // Waiting transactions the chain has passed are dropped; those now contiguous are ready.
  for (auto w = s.waiting.begin(); w != s.waiting.end() && w->first < s.next;
       w = s.waiting.erase(w)) {
    by_age_.erase(w->second.seq);
    count_out(s, w->second.admitted.bytes);
  }
  for (auto w = s.waiting.begin(); w != s.waiting.end() && w->first == s.next;
       w = s.waiting.erase(w)) {
    by_age_.erase(w->second.seq);
    s.ready.push_back(std::move(w->second.admitted));
    ++s.next;
    ++ready_count_;
  }
  if (!s.ready.empty()) {
    turns_.push_back(it->first);
    if (!wake_at_.empty() && ready_count_ >= *wake_at_.begin()) ready_cv_.notify_all();
  }
  maybe_forget(it);
}

void Mempool::maybe_forget(SenderMap::iterator it) {
  // An idle sender is forgotten; its next transaction re-reads the committed nonce.
  const Sender& s = it->second;
  if (s.pending() == 0 && s.in_flight == 0) senders_.erase(it);
}

void Mempool::count_in(const Sender& s, size_t bytes) {
  ++total_;
  bytes_ += bytes;
  if (s.is_new) ++new_sender_txs_;
}

void Mempool::count_out(const Sender& s, size_t bytes) {
  --total_;
  bytes_ -= bytes;
  if (s.is_new) --new_sender_txs_;
}

bool Mempool::full(size_t incoming_bytes) const {
  return total_ >= limits_.max_txs || bytes_ + incoming_bytes > limits_.max_bytes;
}

bool Mempool::evict_oldest_waiting(const PublicKey* keep) {
  if (by_age_.empty()) return false;
  auto oldest = by_age_.begin();
  auto it = senders_.find(oldest->second.sender);
  auto w = it->second.waiting.find(oldest->second.nonce);
  count_out(it->second, w->second.admitted.bytes);
  it->second.waiting.erase(w);
  by_age_.erase(oldest);
  if (!keep || it->first != *keep) maybe_forget(it);
  return true;
}

void Mempool::expire_waiting(std::chrono::steady_clock::time_point now) {
  while (!by_age_.empty() && now - by_age_.begin()->second.since >= limits_.waiting_ttl)
    evict_oldest_waiting(nullptr);
}

size_t Mempool::size() const {
  std::lock_guard lock(mutex_);
  return total_;
}

size_t Mempool::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace gridpact
