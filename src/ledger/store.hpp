// Durable storage of the chain: blocks, receipts, the transaction index, the latest state
// and the state tree's nodes, in one RocksDB database with a column family for each.
//
// A block, its receipts, its state changes and its tree nodes are written in one atomic,
// fsynced WriteBatch: after a crash the store holds every acknowledged block whole, and
// nothing of a block that was not acknowledged.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "ledger/block.hpp"
#include "ledger/node_cache.hpp"
#include "ledger/state.hpp"
#include "ledger/state_cache.hpp"
#include "ledger/state_tree.hpp"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace gridpact {

struct TxLocation {
  uint64_t height = 0;
  uint32_t index = 0;
};

// Everything one block changes, applied atomically by Store::commit.
struct CommitBatch {
  Block block;
  std::vector<Receipt> receipts;
  StateOverlay::Writes state_changes;
  std::vector<std::pair<Hash32, TreeNode>> new_nodes;
  // Nodes of the previous tree that the new one no longer uses: dropped from the node
  // cache (not from disk), so that the cache keeps holding the live tree.
  std::vector<Hash32> replaced_nodes;
};

class Store : public StateReader, public TreeNodeSource {
 public:
  struct Options {
    bool read_only = false;
    size_t node_cache_entries = 1 << 22;   // tree nodes kept in memory (the live tree)
    size_t state_cache_entries = 1 << 21;  // latest values of recently used keys
    bool sync = true;                      // fsync each block (off only in benchmarks)
  };
  static Result<std::unique_ptr<Store>> open(const std::string& path, Options options);
  static Result<std::unique_ptr<Store>> open(const std::string& path) {
    return open(path, Options{});
  }
  ~Store() override;

  // Latest committed state.
  std::optional<std::string> get(std::string_view key) const override;
  void scan(std::string_view prefix, const Visitor& fn) const override;
  TreeNode get_node(const Hash32& hash) const override;

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

  Status commit(const CommitBatch& batch);

 private:
  Store() = default;
  std::optional<std::string> read(rocksdb::ColumnFamilyHandle* cf, std::string_view key) const;

  Options options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* cf_meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_blocks_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_receipts_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_txindex_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_state_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_nodes_ = nullptr;

  std::atomic<int64_t> height_{-1};
  std::unique_ptr<StateCache> state_cache_;
  std::unique_ptr<NodeCache> node_cache_;
};

std::string height_key(uint64_t height);

}  // namespace gridpact
