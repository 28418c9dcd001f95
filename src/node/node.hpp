// A GridPact node: mempool -> orderer -> executor -> atomic commit -> subscribers.
// Execution and commit are pipelined: block n+1 executes (on top of block n's staged
// changes) while block n's write batch is written and fsynced on the committer thread.
//
// The node knows the engine, not the application: it is handed its modules. It owns the
// store, signs the blocks it cuts with the validator key, and tells subscribers (the API's
// block stream, the SQL read model) about every committed block, in order.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "ledger/executor.hpp"
#include "node/block_metrics.hpp"
#include "node/genesis.hpp"
#include "node/mempool.hpp"
#include "order/solo_orderer.hpp"

namespace gridpact {

// Whether `key` may sign the block built on `parent`.
using SignerRule = std::function<bool(const StateReader& parent, const PublicKey& key)>;

struct NodeOptions {
  std::string data_dir;
  Genesis genesis;
  std::optional<KeyPair> validator_key;  // required to cut blocks
  Mempool::Limits mempool;
  bool sync_commits = true;
  // Past roots that state proofs can be served against. Each holds the tree nodes its
  // block replaced: about 20 MiB for a block of 5,000 transfers at 1,000,000 accounts.
  size_t proof_history_blocks = Store::Options{}.proof_history_blocks;
  // Whether an account with no committed transaction may use the full per-sender quota
  // of the mempool (the application's notion of standing; `gridpact node`: it holds a
  // balance). Unset: every account may, and no newcomer quota applies.
  std::function<bool(const StateReader&, const PublicKey&)> sender_standing{};
  // Who may sign a block, decided on the state the block builds on (after the block
  // before), so that every node decides alike and a governed change of the set takes
  // effect from the next block. The application's rule (`gridpact node`: governance's
  // validator set); unset: the genesis validator and `validators`.
  SignerRule may_sign{};
  // Keys besides the genesis validator that may sign blocks when `may_sign` is unset.
  std::vector<PublicKey> validators{};
  // Verify the client signatures of every block another node sealed, even when its proposer
  // is attested (OrderedBatch::proposer_attested). Off: an attested leader in the validator
  // set is trusted for them, as its build verified each one at admission; `gridpact
  // verify-chain` still checks them all, and a forged one is signed by its leader.
  bool verify_sealed_signatures = false;
};

class Node;
// Makes the node's orderer (called once, at the end of Node::open); unset: the solo orderer.
using OrdererFactory = std::function<std::unique_ptr<Orderer>(Node&)>;

struct NodeStats {
  uint64_t height = 0;
  uint64_t blocks_committed = 0;
  uint64_t txs_committed = 0;
  uint64_t txs_failed = 0;
  uint64_t txs_rejected = 0;
  size_t mempool_size = 0;
  uint64_t last_block_ms = 0;
};

class Node {
 public:
  using Subscriber = std::function<void(const Block&, const std::vector<Receipt>&)>;

  static Result<std::unique_ptr<Node>> open(NodeOptions options,
                                            std::vector<std::unique_ptr<Module>> modules,
                                            OrdererFactory make_orderer = {});
  ~Node();

  void start();
  void stop();

  Result<Hash32> submit(Transaction tx);
  // Waits until the transaction is committed; its receipt, or nullopt on timeout.
  std::optional<Receipt> wait_committed(const Hash32& tx_id, std::chrono::milliseconds timeout);
  // Waits until the chain reaches `height` (or timeout); true if it did.
  bool wait_height(uint64_t height, std::chrono::milliseconds timeout);

  int subscribe(Subscriber fn);
  void unsubscribe(int id);

  Store& store() { return *store_; }
  const Executor& executor() const { return *executor_; }
  const Genesis& genesis() const { return options_.genesis; }
  const NodeOptions& options() const { return options_; }
  // A mempool admitting as this node's does (same limits, checks and committed nonces):
  // a cluster leader orders from one of its own.
  std::unique_ptr<Mempool> make_mempool() const;
  Mempool& mempool() { return *mempool_; }
  // Why this node stopped applying blocks (a sealed block it could not reproduce), if so.
  std::optional<std::string> halted() const;
  // Stops applying blocks for good (until restarted), saying why: log, /v1/health, /metrics.
  void halt(std::string reason);
  NodeStats stats() const;
  // Per-block timings (execution, each module's end_block, commit, fsync) as histograms.
  const BlockMetrics& block_metrics() const { return *block_metrics_; }
  // Whether `key` may sign the block built on `parent` (options().may_sign, or its default).
  bool may_sign(const StateReader& parent, const PublicKey& key) const;
  // Whether `key` may sign the next block after the latest committed one.
  bool may_sign_next(const PublicKey& key) const { return may_sign(*store_, key); }
  // Runs a query of the module `module` against the latest committed state.
  Result<json> query(std::string_view module, std::string_view path, const json& params) const;

 private:
  Node() = default;
  void on_batch(OrderedBatch batch);
  // A sealed batch's execution reproduced its header; false (and halted) if not.
  bool matches_sealed(const BlockHeader& mine, const BlockHeader& sealed);
  // The committer thread: writes executed blocks in order and tells everyone about them.
  void commit_loop();
  void publish(const CommitBatch& cb);

  NodeOptions options_;
  std::vector<std::unique_ptr<Module>> modules_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<Mempool> mempool_;
  std::unique_ptr<Orderer> orderer_;
  bool solo_ = false;  // the solo orderer: this node signs every block
  std::unique_ptr<BlockMetrics> block_metrics_;

  // One executed block waits here while the next one executes (pipelining); it is
  // reported committed only after Store::commit wrote it atomically.
  std::mutex pipeline_mutex_;
  std::condition_variable pipeline_cv_;
  std::shared_ptr<const CommitBatch> to_commit_;  // shared with the executor's staged view
  uint64_t to_commit_execute_us_ = 0;             // how long to_commit_ took to execute
  bool committer_stop_ = false;
  std::thread committer_;

  mutable std::mutex commit_mutex_;
  std::condition_variable committed_cv_;
  std::atomic<bool> stopping_{false};
  std::map<int, Subscriber> subscribers_;
  int next_subscriber_ = 0;
  std::mutex subscribers_mutex_;

  mutable std::mutex halted_mutex_;
  std::optional<std::string> halted_;

  std::atomic<uint64_t> blocks_committed_{0}, txs_committed_{0}, txs_failed_{0}, txs_rejected_{0},
      last_block_ms_{0};
};

}  // namespace gridpact
