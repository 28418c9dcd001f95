// State-tree nodes kept in memory by hash: the live tree, in front of RocksDB. A block's
// tree update reads about 7 nodes and writes about 7 new ones per changed key, so this
// table is on the ledger's hottest path.
//
// Open addressing with linear probing and nodes inline in the slots: a lookup touches one
// slot (where a node-based map touches a bucket, the node before and the node), and an
// insert allocates nothing. Removal shifts the following slots back, so there are no
// tombstones. Hashes of tree nodes are SHA-256 digests: their first bytes are already
// uniform and serve as the table's hash.
//
// Thread-safe: the executor reads while the committer inserts a block's new nodes and
// removes the ones it replaced. Sharded, a lock each, so they rarely wait on each other.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "ledger/state_tree.hpp"

namespace gridpact {

class NodeCache {
 public:
  // At most `max_entries` nodes (100-260 bytes each, with the table's load); a shard
  // that is full starts over, empty (the hot top of the tree refills at once).
  explicit NodeCache(size_t max_entries);

  std::optional<TreeNode> find(const Hash32& hash) const;
  void insert(const Hash32& hash, const TreeNode& node);  // a node held already stays
  void erase(const Hash32& hash);
  size_t size() const;

 private:
  struct Slot {
    Hash32 hash;
    TreeNode node;
    bool used = false;
  };
  // At most three quarters full (linear probing stays short: about 2.5 slots per hit at
  // the worst); grows by doubling up to the room its share of max_entries needs.
  struct Shard {
    mutable std::mutex mutex;
    std::vector<Slot> slots;
    size_t size = 0;
    // The slot holding `hash`, or the empty slot where it would go.
    size_t probe(const Hash32& hash) const;
    void grow();
  };
  static constexpr size_t kShards = 16;
  static uint64_t home_of(const Hash32& hash);
  Shard& shard_of(const Hash32& hash) const;

  size_t max_per_shard_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace gridpact
