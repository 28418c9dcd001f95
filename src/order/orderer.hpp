// Ordering: which transactions go into the next block, and when. The orderer decides the
// sequence; every node executes it. The solo orderer cuts blocks on one node; the cluster
// orderer (src/cluster, etcd) agrees on the same blocks across nodes behind this interface.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include "ledger/block.hpp"
#include "ledger/transaction.hpp"

namespace gridpact {

// An ordered batch: the content of the next block and its time.
struct OrderedBatch {
  uint64_t time_ms = 0;
  std::vector<Transaction> txs;
  // tx_ids[i] is txs[i].id(), as admission computed it, so that the executor need not
  // hash every transaction again; empty when the source does not know them.
  std::vector<Hash32> tx_ids;
  // Set when the batch is a block another node sealed (a cluster follower applies it): the
  // node executes it and commits it only if its own header equals this one; it then stores
  // this header, proposer's signature included.
  std::optional<BlockHeader> sealed;
  // False for a block this node can fetch again (a follower's, from etcd or a peer): its
  // commit does not wait for the disk, whose next durable commit covers it. A crash loses
  // at most such blocks, which the node then fetches again.
  bool durable = true;
  // A sealed block whose proposer passed the orderer's attestation check in this process
  // (it runs the allowed executable, which admits only correctly signed transactions), or
  // is this node: the node trusts its client signatures unless it was told to verify them
  // again (NodeOptions::verify_sealed_signatures). False: the node verifies them.
  bool proposer_attested = false;
  // Every client signature in the sealed block was verified already, on another thread (a
  // catching-up follower verifies the next batch of blocks while it applies this one).
  bool signatures_verified = false;
};

// Where orderers take candidate transactions from (the mempool).
class TxSource {
 public:
  virtual ~TxSource() = default;
  // At most `max` of the next transactions (and their ids, if known); the orderer stamps
  // the batch's time.
  virtual OrderedBatch take(size_t max) = 0;
  virtual size_t ready() const = 0;
  // Blocks until at least `count` transactions are ready or the deadline passes.
  virtual void wait_ready(size_t count, std::chrono::steady_clock::time_point deadline) = 0;
};

class Orderer {
 public:
  // Called for each batch, in order, on the orderer's thread; returns when the batch is
  // committed (so the orderer never runs ahead of the store).
  using Deliver = std::function<void(OrderedBatch)>;
  virtual ~Orderer() = default;
  virtual void start(Deliver deliver) = 0;
  virtual void stop() = 0;
  // Called by the node inside deliver(), with the block it executed and signed from one of
  // this orderer's own batches (not a sealed one), before any of it is committed. True:
  // the block is now the chain's at its height (the cluster orderer wrote it to etcd);
  // false: another block holds that height, and the node drops this one.
  virtual bool seal(const Block&) { return true; }
};

}  // namespace gridpact
