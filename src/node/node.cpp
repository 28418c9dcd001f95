#include "node/node.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "ledger/block_time.hpp"

namespace gridpact {
namespace {

// The state tree's node table starts with room for this many nodes (16 MiB), enough for a
// community's first thousands of orders: fresh memory is touched once, at open, not in
// the first blocks (where, on a virtual machine, each new page can cost more than the
// work done in it).
constexpr size_t kReservedTreeNodes = 1 << 16;

uint64_t micros_since(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

}  // namespace

namespace {

// The genesis hash a data directory was created with. Older nodes wrote it after the
// genesis block, so a crash in between left none: the genesis block names it too.
std::optional<std::string> recorded_genesis(Store& store) {
  if (auto hex = store.meta("genesis_hash")) return hex;
  auto first = store.header(0);
  if (!first) return std::nullopt;
  std::string hex = first->prev_hash.hex();
  if (!store.put_meta("genesis_hash", hex)) return std::nullopt;  // repaired for next time
  return hex;
}

}  // namespace

Result<std::unique_ptr<Node>> Node::open(NodeOptions options,
                                         std::vector<std::unique_ptr<Module>> modules,
                                         OrdererFactory make_orderer) {
  std::unique_ptr<Node> node(new Node());
  node->options_ = std::move(options);
  node->modules_ = std::move(modules);
  const Genesis& g = node->options_.genesis;
  std::filesystem::create_directories(node->options_.data_dir);
  auto store = Store::open(node->options_.data_dir + "/db",
                           {.read_only = false,
                            .proof_history_blocks = node->options_.proof_history_blocks,
                            .sync = node->options_.sync_commits,
                            .reserved_tree_nodes = kReservedTreeNodes});
  if (!store) return store.status();
  node->store_ = std::move(store).value();

  std::vector<Module*> raw;
  for (auto& m : node->modules_) raw.push_back(m.get());
  node->executor_ = std::make_unique<Executor>(*node->store_, raw, g.chain_id);
  node->executor_->bound_time_steps();

  if (!node->store_->height()) {
    auto batch = node->executor_->genesis(g.document, g.hash, g.time_ms);
    if (!batch) return batch.status();
    // One batch: a crash leaves either nothing or a chain that knows its genesis.
    batch.value().meta.emplace_back("genesis_hash", g.hash.hex());
    if (Status s = node->store_->commit(batch.value()); !s) return s;
  } else if (recorded_genesis(*node->store_) != g.hash.hex()) {
    return error(Code::kBadGenesis, "the data directory belongs to another genesis document");
  } else {
    auto start = std::chrono::steady_clock::now();
    if (Status s = node->store_->load_tree(); !s) return s;
    spdlog::info("state tree rebuilt at block {} in {} ms", *node->store_->height(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count());
  }

  node->mempool_ = node->make_mempool();
  std::vector<std::string> module_names;
  for (Module* m : node->executor_->modules()) module_names.emplace_back(m->name());
  node->block_metrics_ = std::make_unique<BlockMetrics>(std::move(module_names));
  if (make_orderer) {
    node->orderer_ = make_orderer(*node);
    return node;
  }
  SoloOrderer::Config order{std::chrono::milliseconds(g.block_interval_ms),
                            std::chrono::milliseconds(g.idle_interval_ms), g.max_block_txs};
  order.wait_idle = [n = node.get()](std::chrono::steady_clock::time_point until) {
    std::unique_lock lock(n->pipeline_mutex_);
    return n->pipeline_cv_.wait_until(lock, until, [n] { return n->to_commit_ == nullptr; });
  };
  node->orderer_ = std::make_unique<SoloOrderer>(*node->mempool_, std::move(order));
  node->solo_ = true;
  return node;
}

std::unique_ptr<Mempool> Node::make_mempool() const {
  const Executor* ex = executor_.get();
  const Store* st = store_.get();
  return std::make_unique<Mempool>(
      options_.mempool, options_.genesis.chain_id,
      [st](const PublicKey& k) { return get_u64(*st, nonce_key(k)); },
      [ex](const Transaction& tx) -> Status {
        Module* m = ex->module_for(tx.type);
        if (!m)
          return error(Code::kUnknownType, "unknown transaction type " + std::to_string(tx.type));
        return m->check(tx);
      },
      std::chrono::steady_clock::now,
      [st, standing = options_.sender_standing](const PublicKey& k) {
        return !standing || standing(*st, k);
      });
}

std::optional<std::string> Node::halted() const {
  std::lock_guard lock(halted_mutex_);
  return halted_;
}

Node::~Node() {
  stop();
}

void Node::start() {
  if (!options_.validator_key)
    throw Error(Code::kUnauthorized, "this node has no validator key and cannot cut blocks");
  // A cluster node may follow while its key is not (yet) in the set; it leads only once it is.
  if (solo_ && !may_sign_next(options_.validator_key->public_key()))
    throw Error(Code::kUnauthorized, "the validator key is not in the validator set");
  stopping_ = false;
  {
    std::lock_guard lock(pipeline_mutex_);
    committer_stop_ = false;
  }
  if (!committer_.joinable()) committer_ = std::thread([this] { commit_loop(); });
  orderer_->start([this](OrderedBatch b) { on_batch(std::move(b)); });
}

void Node::stop() {
  if (orderer_) orderer_->stop();
  // The orderer delivers nothing more; the committer finishes the block it holds.
  {
    std::lock_guard lock(pipeline_mutex_);
    committer_stop_ = true;
  }
  pipeline_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  stopping_ = true;
  committed_cv_.notify_all();
}

bool Node::matches_sealed(const BlockHeader& mine, const BlockHeader& sealed) {
  std::string what;
  if (mine.height != sealed.height || mine.prev_hash != sealed.prev_hash)
    what = "it does not extend this node's chain";
  else if (sealed.time_ms > mine.time_ms)  // the executor bounded it (ledger/block_time.hpp)
    what = "its time runs more than " + std::to_string(kMaxBlockTimeStepMs / 1000) +
           " s ahead of the previous block's";
  else if (mine.time_ms != sealed.time_ms || mine.tx_count != sealed.tx_count)
    what = "its time or transaction count differs";
  else if (mine.tx_root != sealed.tx_root)
    what = "its transaction root differs";
  else if (mine.receipts_root != sealed.receipts_root)
    what = "its receipts root differs";
  else if (mine.state_root != sealed.state_root)
    what = "state root differs: sealed " + sealed.state_root.hex() + ", re-executed " +
           mine.state_root.hex();
  else if (mine.chain_id != sealed.chain_id)
    what = "it names another chain";
  if (what.empty()) return true;
  // Never apply a block this node cannot reproduce: stop here, loudly, and say why.
  halt("block " + std::to_string(sealed.height) + " by " + sealed.proposer.hex() + ": " + what);
  return false;
}

bool Node::may_sign(const StateReader& parent, const PublicKey& key) const {
  if (options_.may_sign) return options_.may_sign(parent, key);
  const auto& extra = options_.validators;
  return key == options_.genesis.validator ||
         std::find(extra.begin(), extra.end(), key) != extra.end();
}

void Node::halt(std::string reason) {
  spdlog::critical("HALTED, not applying blocks any more: {}", reason);
  std::lock_guard lock(halted_mutex_);
  if (!halted_) halted_ = std::move(reason);
}

void Node::on_batch(OrderedBatch batch) {
  if (halted()) return;
  auto start = std::chrono::steady_clock::now();
  const bool sealed = batch.sealed.has_value();
  const PublicKey signer = sealed ? batch.sealed->proposer : options_.validator_key->public_key();
  bool in_set = false;
  executor_->read_head([&](const StateReader& parent) { in_set = may_sign(parent, signer); });
  if (!in_set) {
    const std::string why = (sealed ? "block " + std::to_string(batch.sealed->height) : "a block") +
                            " by " + signer.hex() + ": the key is not in the validator set";
    // Someone else's block: never apply it. Our own: a cluster leader drops it (unsealed,
    // the orderer steps down); a solo node cannot go on.
    if (sealed || solo_)
      halt(why);
    else
      spdlog::warn("not cutting {}", why);
    return;
  }
  // Client signatures: this node's own batches were verified at admission; a block sealed
  // elsewhere is trusted for them only if its proposer is attested (NodeOptions says why).
  const bool verify_signatures = sealed && !batch.signatures_verified &&
                                 (options_.verify_sealed_signatures || !batch.proposer_attested);
  auto result = executor_->execute(std::move(batch.txs), batch.time_ms, verify_signatures,
                                   std::move(batch.tx_ids));
  if (!result) {
    // A block that cannot be built means a broken store: stop loudly, never fork silently.
    spdlog::critical("cannot execute block: {}", result.status().to_string());
    std::abort();
  }
  auto cb = std::make_shared<CommitBatch>(std::move(result).value());
  cb->durable = batch.durable;
  const uint64_t execute_us = micros_since(start);
  if (sealed) {
    if (!matches_sealed(cb->block.header, *batch.sealed)) return;
    cb->block.header = *batch.sealed;
  } else {
    cb->block.header.sign(*options_.validator_key);
    // Not the chain's block after all (another leader's holds the height): dropped.
    if (!orderer_->seal(cb->block)) return;
  }
  executor_->stage(cb);
  // Hand the block over once the previous one is written: at most one block is in flight,
  // so the next execution builds on a staged block whose predecessor is in the store.
  std::unique_lock lock(pipeline_mutex_);
  pipeline_cv_.wait(lock, [&] { return !to_commit_; });
  to_commit_ = std::move(cb);
  to_commit_execute_us_ = execute_us;
  pipeline_cv_.notify_all();
}

void Node::commit_loop() {
  for (;;) {
    std::unique_lock lock(pipeline_mutex_);
    pipeline_cv_.wait(lock, [&] { return to_commit_ || committer_stop_; });
    if (!to_commit_) return;  // stopping with nothing left to write
    const CommitBatch& cb = *to_commit_;
    BlockMetrics::Block timings{to_commit_execute_us_, cb.end_block_us,       0, 0,
                                cb.block.txs.size(),   cb.block.header.height};
    lock.unlock();
    {
      std::lock_guard commit_lock(commit_mutex_);
      auto start = std::chrono::steady_clock::now();
      if (Status s = store_->commit(cb); !s) {
        spdlog::critical("cannot commit block {}: {}", cb.block.header.height, s.to_string());
        std::abort();
      }
      timings.commit_us = micros_since(start);
      timings.fsync_us = static_cast<uint64_t>(store_->last_write_time().count());
    }
    block_metrics_->record(timings);
    publish(cb);
    lock.lock();
    to_commit_.reset();
    pipeline_cv_.notify_all();
  }
}

void Node::publish(const CommitBatch& cb) {
  mempool_->committed(cb.block.txs);
  blocks_committed_++;
  for (size_t i = 0; i < cb.block.txs.size(); ++i) {
    if (cb.receipts[i].ok())
      txs_committed_++;
    else
      txs_failed_++;
  }
  last_block_ms_ = cb.block.header.time_ms;
  committed_cv_.notify_all();
  std::lock_guard lock(subscribers_mutex_);
  for (auto& [id, fn] : subscribers_) fn(cb.block, cb.receipts);
}

Result<Hash32> Node::submit(Transaction tx) {
  if (stopping_) return error(Code::kShuttingDown, "node is stopping");
  auto r = mempool_->add(std::move(tx));
  if (!r) txs_rejected_++;
  return r;
}

std::optional<Receipt> Node::wait_committed(const Hash32& tx_id,
                                            std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(commit_mutex_);
  std::optional<TxLocation> loc;
  committed_cv_.wait_until(lock, deadline, [&] {
    loc = store_->find_tx(tx_id);
    return loc.has_value() || stopping_.load();
  });
  if (!loc) return std::nullopt;
  return store_->receipt(loc->height, loc->index);
}

bool Node::wait_height(uint64_t height, std::chrono::milliseconds timeout) {
  std::unique_lock lock(commit_mutex_);
  return committed_cv_.wait_for(lock, timeout, [&] {
    return store_->height().value_or(0) >= height || stopping_.load();
  }) && store_->height().value_or(0) >= height;
}

int Node::subscribe(Subscriber fn) {
  std::lock_guard lock(subscribers_mutex_);
  subscribers_[next_subscriber_] = std::move(fn);
  return next_subscriber_++;
}

void Node::unsubscribe(int id) {
  std::lock_guard lock(subscribers_mutex_);
  subscribers_.erase(id);
}

NodeStats Node::stats() const {
  return {store_->height().value_or(0), blocks_committed_.load(), txs_committed_.load(),
          txs_failed_.load(),           txs_rejected_.load(),     mempool_->size(),
          last_block_ms_.load()};
}

Result<json> Node::query(std::string_view module, std::string_view path, const json& params) const {
  for (const auto& m : modules_)
    if (m->name() == module) return m->query(*store_, path, params);
  return error(Code::kNotFound, "no module " + std::string(module));
}

}  // namespace gridpact
