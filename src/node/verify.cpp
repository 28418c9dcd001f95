#include "node/verify.hpp"

#include <algorithm>
#include <filesystem>

#include "ledger/block_time.hpp"
#include "ledger/executor.hpp"

namespace gridpact {

Result<ChainReport> verify_chain(const Store& source, const Genesis& genesis,
                                 const std::vector<Module*>& modules,
                                 const std::string& scratch_dir, const SignerRule& may_sign) {
  std::filesystem::remove_all(scratch_dir);
  auto scratch = Store::open(scratch_dir, {.sync = false});
  if (!scratch) return scratch.status();
  Executor executor(*scratch.value(), modules, genesis.chain_id);
  executor.bound_time_steps();
  auto mismatch = [](uint64_t h, const std::string& what) {
    return error(Code::kStateRootMismatch, "block " + std::to_string(h) + ": " + what);
  };

  auto top = source.height();
  if (!top) return error(Code::kNotFound, "the store holds no chain");
  auto g = executor.genesis(genesis.document, genesis.hash, genesis.time_ms);
  if (!g) return g.status();
  auto stored0 = source.header(0);
  if (!stored0 || stored0->hash() != g->block.header.hash())
    return mismatch(0, "genesis block does not match the genesis document");
  if (Status s = scratch.value()->commit(g.value()); !s) return s;

  ChainReport report;
  Hash32 prev = stored0->hash();
  for (uint64_t h = 1; h <= *top; ++h) {
    auto block = source.block(h);
    if (!block) return mismatch(h, "missing");
    const BlockHeader stored = block->header;
    if (stored.prev_hash != prev) return mismatch(h, "does not link to its predecessor");
    // The scratch store holds the state this block builds on.
    const bool in_set = may_sign ? may_sign(*scratch.value(), stored.proposer)
                                 : stored.proposer == genesis.validator;
    if (!in_set || !stored.signature_valid()) return mismatch(h, "not signed by a validator");
    // Every client signature, whatever the nodes trusted: a transaction nobody signed is
    // the proposer's forgery, and its block signature is the evidence.
    for (size_t i = 0; i < block->txs.size(); ++i)
      if (!block->txs[i].signature_valid())
        return mismatch(h, "transaction " + std::to_string(i) + " (" + block->txs[i].id().hex() +
                               ") carries a client signature that does not verify; the block is "
                               "signed by " +
                               stored.proposer.hex());
    report.txs += block->txs.size();
    auto batch = executor.execute(std::move(block->txs), stored.time_ms, false);
    if (!batch) return batch.status();
    const BlockHeader& mine = batch->block.header;
    if (stored.time_ms > mine.time_ms)  // the executor bounded it (ledger/block_time.hpp)
      return mismatch(h, "time runs more than " + std::to_string(kMaxBlockTimeStepMs / 1000) +
                             " s ahead of the previous block's");
    if (mine.tx_root != stored.tx_root) return mismatch(h, "transaction root differs");
    if (mine.receipts_root != stored.receipts_root) return mismatch(h, "receipts root differs");
    if (mine.state_root != stored.state_root)
      return mismatch(h, "state root differs: stored " + stored.state_root.hex() + ", recomputed " +
                             mine.state_root.hex());
    if (mine.time_ms != stored.time_ms) return mismatch(h, "time differs");
    batch.value().block.header = stored;
    if (Status s = scratch.value()->commit(batch.value()); !s) return s;
    prev = stored.hash();
    report.blocks++;
  }
  report.state_root = scratch.value()->state_root();
  return report;
}

}  // namespace gridpact
