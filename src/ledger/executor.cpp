#include "ledger/executor.hpp"

#include <algorithm>
#include <unordered_map>

#include "ledger/block_time.hpp"
#include "ledger/development.hpp"
#include "ledger/scan_memo.hpp"

namespace gridpact {

std::string account_key(std::string_view prefix, const PublicKey& account) {
  std::string k(prefix);
  k.append(account.view());
  return k;
}

std::string nonce_key(const PublicKey& account) {
  return account_key("auth/nonce/", account);
}

struct Executor::Staged {
  Staged(std::shared_ptr<const CommitBatch> staged_batch, const Store& store)
      : batch(std::move(staged_batch)), state(batch->state_changes, store) {}
  std::shared_ptr<const CommitBatch> batch;
  WritesView state;  // the staged block's writes over the store
};

Executor::Executor(Store& store, std::vector<Module*> modules, std::string chain_id)
    : store_(store), modules_(std::move(modules)), chain_id_(std::move(chain_id)) {
  for (Module* m : modules_) m->attach(modules_);
}

void Executor::stage(std::shared_ptr<const CommitBatch> batch) {
  staged_ = std::make_shared<Staged>(std::move(batch), store_);
}

const Executor::Staged* Executor::current_staged(uint64_t store_height) {
  // Build on the staged block while it is one ahead of the store; once the store has
  // caught up (or never will, after a failed commit the caller aborts) it is stale.
  if (staged_ && staged_->batch->block.header.height == store_height + 1) return staged_.get();
  staged_.reset();
  return nullptr;
}

void Executor::read_head(const std::function<void(const StateReader&)>& f) {
  const Staged* staged = current_staged(store_.height().value_or(0));
  f(staged ? static_cast<const StateReader&>(staged->state)
           : static_cast<const StateReader&>(store_));
}

Module* Executor::module_for(uint16_t type) const {
  for (Module* m : modules_)
    for (const auto& t : m->tx_types())
      if (t.type == type) return m;
  return nullptr;
}

Result<CommitBatch> Executor::genesis(const json& document, const Hash32& genesis_hash,
                                      uint64_t time_ms) {
  StateOverlay state(store_);
  if (auto dev = document.find("development"); dev != document.end() && *dev == true)
    state.put(kDevelopmentKey, "\1");
  for (Module* m : modules_) {
    static const json kEmpty = json::object();
    auto it = document.find(std::string(m->name()));
    Status s = m->init_genesis(state, it == document.end() ? kEmpty : *it);
    if (!s) return error(Code::kBadGenesis, std::string(m->name()) + ": " + s.message);
  }
  CommitBatch batch;
  auto& h = batch.block.header;
  h.chain_id = chain_id_;
  h.height = 0;
  h.prev_hash = genesis_hash;
  h.time_ms = time_ms;
  return finish(std::move(batch), state, store_.state_root());
}

Receipt Executor::run(const BlockInfo& info, const Transaction& tx, const Hash32& tx_id,
                      uint32_t index, StateOverlay& block_state, bool check_signatures) {
  Receipt r;
  r.tx_id = tx_id;
  r.height = info.height;
  r.index = index;
  auto fail = [&](Status s) {
    r.code = static_cast<uint16_t>(s.code);
    r.message = s.message.substr(0, kMaxReceiptMessage);
    return r;
  };
  if (tx.chain_id != chain_id_) return fail(error(Code::kWrongChain, "wrong chain id"));
  if (check_signatures && !tx.signature_valid())
    return fail(error(Code::kBadSignature, "signature does not verify"));
  std::string nk = nonce_key(tx.sender);
  uint64_t expected = get_u64(block_state, nk);
  if (tx.nonce != expected)
    return fail(error(Code::kNonceMismatch, "nonce " + std::to_string(tx.nonce) + ", expected " +
                                                std::to_string(expected)));
  Module* m = module_for(tx.type);
  if (!m) return fail(error(Code::kUnknownType, "unknown transaction type"));
  // The nonce is spent even if the handler fails: the failure is itself on the record.
  block_state.put(nk, encode_u64(expected + 1));

  StateOverlay tx_state(block_state);
  std::vector<Event> events;
  TxContext ctx{info, tx, tx_id, tx_state, events};
  Status s = m->check(tx);
  if (s) s = m->deliver(ctx);
  if (!s) return fail(std::move(s));
  tx_state.merge_into(block_state);
  if (events.size() > kMaxEvents) events.resize(kMaxEvents);
  r.events = std::move(events);
  return r;
}

Result<CommitBatch> Executor::execute(std::vector<Transaction> txs, uint64_t time_ms,
                                      bool check_signatures, std::vector<Hash32> tx_ids) {
  if (!tx_ids.empty() && tx_ids.size() != txs.size())
    return error(Code::kInvalidArgument, "transaction ids do not match the transactions");
  auto height = store_.height();
  if (!height) return error(Code::kStorage, "no genesis block");
  if (Status s = store_.load_tree(); !s) return s;  // before this block adds nodes to it
  const Staged* staged = current_staged(*height);
  std::optional<BlockHeader> prev = staged ? staged->batch->block.header : store_.header(*height);
  if (!prev) return error(Code::kStorage, "no header at the chain's height");
  if (time_ms < prev->time_ms) time_ms = prev->time_ms;  // block time never goes back
  if (bound_time_steps_ && prev->height > 0)
    time_ms = std::min(time_ms, prev->time_ms + kMaxBlockTimeStepMs);

  CommitBatch batch;
  auto& h = batch.block.header;
  h.chain_id = chain_id_;
  h.height = prev->height + 1;
  h.prev_hash = prev->hash();
  h.time_ms = time_ms;
  BlockInfo info{chain_id_, h.height, time_ms};

  // The block's transactions scan the same short ranges often (scan_memo.hpp).
  ScanMemo base(staged ? static_cast<const StateReader&>(staged->state)
                       : static_cast<const StateReader&>(store_));
  StateOverlay state(base);
  state.reserve(3 * txs.size());  // a nonce and a key or two each, typically
  batch.receipts.reserve(txs.size() + 1);
  for (size_t i = 0; i < txs.size(); ++i)
    batch.receipts.push_back(run(info, txs[i], tx_ids.empty() ? txs[i].id() : tx_ids[i],
                                 static_cast<uint32_t>(i), state, check_signatures));

  std::vector<Event> block_events;
  BlockContext bctx{info, state, block_events};
  batch.end_block_us.reserve(modules_.size());
  for (Module* m : modules_) {
    // Timed for the node's metrics; the time never reaches the state.
    auto start = std::chrono::steady_clock::now();
    m->end_block(bctx);
    batch.end_block_us.push_back(
        static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::steady_clock::now() - start)
                                  .count()));
  }
  if (!block_events.empty()) {
    Receipt r;
    r.height = h.height;
    r.index = static_cast<uint32_t>(txs.size());
    if (block_events.size() > kMaxEvents) block_events.resize(kMaxEvents);
    r.events = std::move(block_events);
    batch.receipts.push_back(std::move(r));
  }
  batch.block.txs = std::move(txs);
  return finish(std::move(batch), state,
                staged ? staged->batch->block.header.state_root : store_.state_root());
}

Result<CommitBatch> Executor::finish(CommitBatch batch, StateOverlay& state,
                                     const Hash32& prev_root) {
  auto& h = batch.block.header;
  h.tx_count = static_cast<uint32_t>(batch.block.txs.size());
  // Receipt i is transaction i's and carries its id: no need to hash them all again.
  std::vector<Hash32> ids;
  ids.reserve(batch.block.txs.size());
  for (size_t i = 0; i < batch.block.txs.size(); ++i) ids.push_back(batch.receipts[i].tx_id);
  h.tx_root = tx_root_of_ids(ids);
  h.receipts_root = receipts_root(batch.receipts);

  batch.state_changes = state.take_writes();
  std::vector<TreeUpdate> updates;
  updates.reserve(batch.state_changes.size());
  for (const auto& [k, v] : batch.state_changes)
    updates.push_back({sha256(k), v ? std::optional<Hash32>(sha256(*v)) : std::nullopt});
  std::sort(updates.begin(), updates.end(),
            [](const TreeUpdate& a, const TreeUpdate& b) { return a.key_hash < b.key_hash; });
  // New nodes join the store's tree at once (not at commit), so that the next block can
  // build on this one before it is committed. Nothing reads them during this update.
  std::vector<std::pair<Hash32, TreeNode>> new_nodes;
  new_nodes.reserve(12 * updates.size());  // a path's worth each, at 1M keys and more
  auto replaced = std::make_shared<std::vector<Hash32>>();
  replaced->reserve(12 * updates.size());
  StateTree tree(store_);
  h.state_root = tree.apply(
      prev_root, updates,
      [&](const Hash32& hash, const TreeNode& n) { new_nodes.emplace_back(hash, n); },
      [&](const Hash32& hash) { replaced->push_back(hash); });
  batch.replaced_nodes = std::move(replaced);
  batch.added_nodes = new_nodes.size();
  store_.add_tree_nodes(new_nodes);
  return batch;
}

}  // namespace gridpact
