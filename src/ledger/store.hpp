// Durable storage of the chain: blocks, receipts, the transaction index and the latest
// state, in one RocksDB database with a column family for each; and the state tree, in
// memory (NodeTable), rebuilt from the state when the store opens.
//
// Keys: blocks, headers and a block's receipts (all of them in one value, see
// encode_receipts) by height; the transaction index by transaction id; state by its key.
//
// A block, its receipts and its state changes are written in one atomic, fsynced
// WriteBatch: after a crash the store holds every acknowledged block whole, and nothing of
// a block that was not acknowledged (a block committed with `durable` false, one that can
// be fetched again, is atomic but waits for the next synced write to be durable: a crash
// of the machine may cut the chain back to it, never into it). The tree follows from the
// state, so it needs no durability of its own: the rebuilt tree's root is checked against
// the latest block's.
//
// State proofs: against the latest block and the `proof_history_blocks` before it, as far
// back as the block the store opened at (an archive of every root is not kept).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "ledger/block.hpp"
#include "ledger/node_table.hpp"
#include "ledger/state.hpp"
#include "ledger/state_cache.hpp"
#include "ledger/state_tree.hpp"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace gridpact {

struct TxLocation {
  uint64_t height = 0;
  uint32_t index = 0;
};

// Everything one block changes, applied atomically by Store::commit. (Its new tree nodes
// went into the store's tree as it was built: see Store::add_tree_nodes.)
struct CommitBatch {
  Block block;
  std::vector<Receipt> receipts;
  StateOverlay::Writes state_changes;
  // Nodes of the previous tree that the new one no longer uses: released once the block
  // falls out of the proof history. Shared, so the store keeps them without a copy.
  std::shared_ptr<const std::vector<Hash32>> replaced_nodes;
  size_t added_nodes = 0;  // nodes the block put into the tree (some may have been held)
  // Metadata (as put_meta) written in the same atomic batch, e.g. the genesis hash.
  std::vector<std::pair<std::string, std::string>> meta;
  // How long each module's end_block took, in the executor's module order: for metrics
  // only, never hashed or stored.
  std::vector<uint32_t> end_block_us;
  // False: written without waiting for the disk (Options::sync), for a block that can be
  // fetched again; the log's next synced write makes it durable with everything before it.
  bool durable = true;
};

class Store : public StateReader, public TreeNodeSource {
 public:
  struct Options {
    bool read_only = false;
    size_t proof_history_blocks = 8;       // past roots that state proofs can use
    size_t state_cache_entries = 1 << 21;  // latest values of recently used keys
    bool sync = true;                      // fsync each block (off only in benchmarks)
    // Room made in the tree's node table when the tree is first built (genesis, or the
    // load of a stored state), written at once, so that the first blocks neither move the
    // table as it doubles nor touch fresh memory in it (a node: 65,536 nodes, 16 MiB).
    size_t reserved_tree_nodes = 0;
  };
  static Result<std::unique_ptr<Store>> open(const std::string& path, Options options);
  static Result<std::unique_ptr<Store>> open(const std::string& path) {
    return open(path, Options{});
  }
  ~Store() override;

  // Latest committed state.
  std::optional<std::string> get(std::string_view key) const override;
  void scan(std::string_view prefix, const Visitor& fn) const override;
  // A node of the tree under a provable root (throws kStorage for any other); the first
  // call on a store opened at a height rebuilds the tree, as load_tree() does.
  TreeNode get_node(const Hash32& hash) const override;
  void get_nodes(std::span<const Hash32> hashes, std::span<TreeNode> out) const override;

  // Rebuilds the state tree from the committed state, if not done yet, and checks its
  // root against the latest block's (kStateRootMismatch: the state on disk is corrupt).
  // A node calls it when it opens, so that it fails early and the first block is quick.
  Status load_tree() const;
  // The new nodes of a block being built. Added before the block is committed, so that
  // the next block can be built on it: content-addressed, they change no committed root.
  // (A block that is never committed leaves its nodes behind: memory, not state.)
  void add_tree_nodes(std::span<const std::pair<Hash32, TreeNode>> nodes) { nodes_.add_all(nodes); }
  size_t tree_capacity() const { return nodes_.capacity(); }  // nodes held before it grows
  // The oldest height whose state root get_node can serve (the latest, at least).
  uint64_t oldest_provable_height() const { return oldest_provable_.load(); }

  // Chain.
  std::optional<uint64_t> height() const;  // nullopt before genesis is committed
  std::optional<Block> block(uint64_t height) const;
  std::optional<BlockHeader> header(uint64_t height) const;
  std::optional<Hash32> block_hash(uint64_t height) const;
  std::optional<TxLocation> find_tx(const Hash32& tx_id) const;
  std::optional<Receipt> receipt(uint64_t height, uint32_t index) const;
  std::vector<Receipt> receipts(uint64_t height) const;
  Hash32 state_root() const;  // of the latest block; zero before genesis

  // Small metadata (genesis document hash, labels).
  std::optional<std::string> meta(std::string_view key) const;
  Status put_meta(std::string_view key, std::string_view value);

  // Writes a block with its receipts and state changes, atomically. One writer at a time.
  Status commit(const CommitBatch& batch);
  // How long the last commit's write took: the log append and, with `sync`, its fsync.
  std::chrono::microseconds last_write_time() const { return last_write_time_; }
  // Commits that waited for the disk (Options::sync and CommitBatch::durable).
  uint64_t synced_commits() const { return synced_commits_; }

 private:
  Store() = default;
  std::optional<std::string> read(rocksdb::ColumnFamilyHandle* cf, std::string_view key) const;
  // Room for a tree of `nodes` just built (genesis, or loaded): for it to double, and at
  // least what the options reserve.
  size_t first_tree_room(size_t nodes) const {
    return std::max(2 * nodes, options_.reserved_tree_nodes);
  }

  Options options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* cf_meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_blocks_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_receipts_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_txindex_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_state_ = nullptr;

  std::atomic<int64_t> height_{-1};
  std::unique_ptr<StateCache> state_cache_;
  mutable NodeTable nodes_;
  mutable std::mutex load_mutex_;
  mutable std::atomic<bool> tree_loaded_{false};
  mutable std::atomic<uint64_t> oldest_provable_{0};
  // Replaced nodes of the latest blocks, oldest first: released as blocks fall out of the
  // proof history. Touched by commit only.
  std::deque<std::shared_ptr<const std::vector<Hash32>>> pending_release_;
  size_t largest_block_nodes_ = 0;  // the most nodes a block has added since opening
  // The write of each commit, kept so that its megabytes of buffer are reused, not
  // allocated (and faulted in) again per block. Touched by commit only.
  std::unique_ptr<rocksdb::WriteBatch> commit_write_;
  std::chrono::microseconds last_write_time_{0};
  std::atomic<uint64_t> synced_commits_{0};
};

std::string height_key(uint64_t height);

}  // namespace gridpact
