// Transactions waiting to be ordered.
//
// Admission checks everything that does not depend on execution: size, chain id, payload
// shape, signature and nonce. Signatures are verified outside the lock, so submitters on
// every core verify in parallel while the executor runs. Per sender, transactions become
// ready strictly in nonce order; a nonce a little ahead waits (within max_nonce_ahead),
// a nonce already used is refused.
//
// Bounds (refusal order: per-sender quota, then room in the pool):
// - every sender holds at most `max_per_sender` pending (ready + waiting) transactions.
//   A newcomer, a sender whose committed nonce is 0 and who has no standing (the
//   application's `Standing` says so, e.g. it holds no balance), holds at most
//   `max_per_new_sender`, and all newcomers together at most `max_new_sender_txs`. The
//   chain is permissioned: the operator onboards (funds) participants, so a stranger's
//   keys, free to make by the thousand, get a foothold just large enough for a first
//   transaction and never the pool.
// - the pool holds at most `max_txs` transactions and `max_bytes` encoded bytes.
// - a transaction waiting behind a nonce gap lives at most `waiting_ttl`; when the pool is
//   full, a transaction that is ready at once evicts the oldest waiting ones first. Only
//   when nothing waits is it refused with MEMPOOL_FULL.
// Block filling is fair: take() serves senders round robin (one transaction per sender
// per turn, senders in the order they became ready), so one sender's stream cannot take
// a block while others wait.
#pragma once

#include <chrono>
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
    size_t max_bytes = size_t{256} << 20;
    size_t max_per_sender = 1024;
    size_t max_per_new_sender = 16;
    size_t max_new_sender_txs = 20000;
    std::chrono::milliseconds waiting_ttl{30000};
  };
  using NonceReader = std::function<uint64_t(const PublicKey&)>;
  using Check = std::function<Status(const Transaction&)>;
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // Whether a sender with no committed transaction has standing; unset: none has.
  using Standing = std::function<bool(const PublicKey&)>;

  Mempool(Limits limits, std::string chain_id, NonceReader committed_nonce, Check check,
          Clock clock = std::chrono::steady_clock::now, Standing standing = {});

  // Returns the transaction id, or why it was refused.
  Result<Hash32> add(Transaction tx);
  // As add(), for a transaction this process admitted (and verified) before under
  // `verified_id`: when tx.id() equals it, the bytes are the same, signature included, and
  // the signature is not verified again (the cluster leader ordering what its own node
  // forwarded). Any other transaction is verified in full.
  Result<Hash32> add(Transaction tx, const Hash32& verified_id);

  OrderedBatch take(size_t max) override;  // with the ids computed at admission
  size_t ready() const override;
  void wait_ready(size_t count, std::chrono::steady_clock::time_point deadline) override;

  // Called after a block with these transactions committed (taken from here, or, in a
  // cluster, ordered from another node's mempool).
  void committed(const std::vector<Transaction>& txs);
  size_t size() const;
  size_t bytes() const;

 private:
  Result<Hash32> admit(Transaction tx, const Hash32* verified_id);
  struct Admitted {
    Transaction tx;
    Hash32 id;
    size_t bytes = 0;
  };
  struct Waiting {
    Admitted admitted;
    uint64_t seq = 0;  // key in by_age_
  };
  struct Sender {
    uint64_t next = 0;                    // the nonce that would become ready next
    bool is_new = false;                  // a newcomer when first seen
    std::deque<Admitted> ready;           // ready, not yet taken, in nonce order
    size_t in_flight = 0;                 // taken, not yet committed
    std::map<uint64_t, Waiting> waiting;  // nonces ahead of `next`
    size_t pending() const { return ready.size() + waiting.size(); }
  };
  struct WaitingRef {
    std::chrono::steady_clock::time_point since;
    PublicKey sender;
    uint64_t nonce;
  };
  using SenderMap = std::unordered_map<PublicKey, Sender, FixedBytesHasher>;

  void maybe_forget(SenderMap::iterator it);
  // The sender's committed nonce moved past `next` by transactions ordered elsewhere.
  void catch_up(const PublicKey& sender, uint64_t committed);
  void count_in(const Sender& s, size_t bytes);
  void count_out(const Sender& s, size_t bytes);
  // Evicts the oldest waiting transaction (forgetting its sender if idle, unless it is
  // `keep`, the sender being admitted); false if none waits.
  bool evict_oldest_waiting(const PublicKey* keep);
  void expire_waiting(std::chrono::steady_clock::time_point now);
  bool full(size_t incoming_bytes) const;

  Limits limits_;
  std::string chain_id_;
  NonceReader committed_nonce_;
  Check check_;
  Clock clock_;
  Standing standing_;

  mutable std::mutex mutex_;
  std::condition_variable ready_cv_;
  // The counts the threads in wait_ready() wait for. add() wakes them only when the ready
  // count reaches the smallest: waking the orderer on every admission (thousands a second)
  // cost more CPU in context switches than its whole check.
  std::multiset<size_t> wake_at_;
  SenderMap senders_;
  // Senders with ready transactions, in turn order; each appears once.
  std::deque<PublicKey> turns_;
  size_t ready_count_ = 0;
  // Every waiting transaction by admission order (= age), for expiry and eviction.
  std::map<uint64_t, WaitingRef> by_age_;
  uint64_t next_seq_ = 0;
  size_t total_ = 0;
  size_t bytes_ = 0;
  size_t new_sender_txs_ = 0;
};

}  // namespace gridpact
