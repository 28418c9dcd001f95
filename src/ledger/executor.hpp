// Executes ordered transactions on top of the committed state and produces the next
// block: header (unsigned), receipts and everything Store::commit needs. Deterministic:
// given the same store state, transactions and time, every node computes the same bytes.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "ledger/module.hpp"
#include "ledger/store.hpp"

namespace gridpact {

// The engine's own state: one nonce per account.
std::string nonce_key(const PublicKey& account);

class Executor {
 public:
  Executor(Store& store, std::vector<Module*> modules, std::string chain_id);

  // Builds the genesis block from the genesis document's sections (by module name).
  // `genesis_hash` becomes the block's prev_hash.
  Result<CommitBatch> genesis(const json& document, const Hash32& genesis_hash, uint64_t time_ms);

  // `check_signatures`: false when the mempool already verified them (the solo node);
  // true when replaying or following blocks made elsewhere. `tx_ids`, if given, are the
  // transactions' ids as this node's admission computed them (tx_ids[i] == txs[i].id());
  // otherwise they are computed here.
  Result<CommitBatch> execute(std::vector<Transaction> txs, uint64_t time_ms, bool check_signatures,
                              std::vector<Hash32> tx_ids = {});

  // From now on, each block after block 1 is stamped at most kMaxBlockTimeStepMs after its
  // predecessor (ledger/block_time.hpp): the chain rule of nodes and verify-chain. Off for
  // module tests and the simulator, whose blocks jump through days.
  void bound_time_steps() { bound_time_steps_ = true; }

  // Pipelining: after execute() returns block n, the caller may stage() it so that the
  // next execute() builds block n+1 on top of it while block n is still being committed.
  // A staged block is used only while it is exactly one ahead of the store; the caller
  // must not execute block n+2 before block n is committed.
  // The executor keeps the batch (shared, not copied) until the next is staged.
  void stage(std::shared_ptr<const CommitBatch> batch);

  // Calls `f` with the state the next execute() builds on: the staged block over the store,
  // or the store. Same thread as execute(); `f` must not keep the reader.
  void read_head(const std::function<void(const StateReader&)>& f);

  Module* module_for(uint16_t type) const;
  const std::vector<Module*>& modules() const { return modules_; }
  const std::string& chain_id() const { return chain_id_; }

 private:
  Receipt run(const BlockInfo& info, const Transaction& tx, const Hash32& tx_id, uint32_t index,
              StateOverlay& block_state, bool check_signatures);
  Result<CommitBatch> finish(CommitBatch batch, StateOverlay& block_state, const Hash32& prev_root);

  // What a staged, not yet committed block changed, layered over the store (its tree
  // nodes are in the store's tree already).
  struct Staged;
  // The staged block if it is exactly one ahead of the store; else drops it and nullptr.
  const Staged* current_staged(uint64_t store_height);

  Store& store_;
  std::vector<Module*> modules_;
  bool bound_time_steps_ = false;
  std::string chain_id_;
  std::shared_ptr<Staged> staged_;
};

}  // namespace gridpact
