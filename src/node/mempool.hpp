// Transactions waiting to be ordered.
//
// Admission checks everything that does not depend on execution: size, chain id, payload
// shape, signature and nonce. Signatures are verified outside the lock, so submitters on
// every core verify in parallel while the executor runs. Per sender, transactions become
// ready strictly in nonce order; a nonce a little ahead waits (within max_nonce_ahead),
// a nonce already used is refused. Ready transactions leave in arrival order.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "base/error.hpp"
#include "crypto/keys.hpp"
#include "order/orderer.hpp"

namespace gridpact {

class Mempool : public TxSource {
 public:
  struct Limits {
    size_t max_txs = 200000;
    uint64_t max_nonce_ahead = 64;
  };
  using NonceReader = std::function<uint64_t(const PublicKey&)>;
  using Check = std::function<Status(const Transaction&)>;

  Mempool(Limits limits, std::string chain_id, NonceReader committed_nonce, Check check);

  // Returns the transaction id, or why it was refused.
  Result<Hash32> add(Transaction tx);

  OrderedBatch take(size_t max) override;  // with the ids computed at admission
  size_t ready() const override;
  void wait_ready(size_t count, std::chrono::steady_clock::time_point deadline) override;

  // Called after a block with these (previously taken) transactions committed.
  void committed(const std::vector<Transaction>& txs);
  size_t size() const;

 private:
  struct Admitted {
    Transaction tx;
    Hash32 id;
  };
  struct Sender {
    uint64_t next = 0;                     // the nonce that would become ready next
    size_t queued = 0;                     // ready, not yet taken
    size_t in_flight = 0;                  // taken, not yet committed
    std::map<uint64_t, Admitted> waiting;  // nonces ahead of `next`
  };
  void maybe_forget(const PublicKey& who, Sender& s);

  Limits limits_;
  std::string chain_id_;
  NonceReader committed_nonce_;
  Check check_;

  mutable std::mutex mutex_;
  std::condition_variable ready_cv_;
  // The counts the threads in wait_ready() wait for. add() wakes them only when the ready
  // queue reaches the smallest: waking the orderer on every admission (thousands a second)
  // cost more CPU in context switches than its whole check.
  std::multiset<size_t> wake_at_;
  std::deque<Admitted> ready_;
  std::unordered_map<PublicKey, Sender, FixedBytesHasher> senders_;
  size_t total_ = 0;
};

}  // namespace gridpact
