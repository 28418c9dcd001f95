// The state tree's nodes, by hash, in memory: every node of the live tree and the nodes
// that the last few blocks replaced (so proofs against recent roots still work). This is
// the tree's only copy. The store rebuilds it from the committed state when it opens: the
// state is what RocksDB keeps, and the tree is a function of it.
//
// Why not RocksDB: a changed key puts about 7 new nodes (of 97 bytes) into the tree, so a
// transfer wrote some 25 random keys, which RocksDB then compacted again and again; that
// was most of a block's commit cost. Rebuilding 1,000,000 accounts takes seconds, once.
//
// Reference counted: the same node (a leaf whose value comes back, say) can be added by a
// later block while an earlier block's replacement of it is still pending; it goes only
// when every addition has been released.
//
// Open addressing with linear probing, each node inline in a slot of two cache lines (the
// pair a CPU fetches together): a lookup of a table far larger than the caches costs one
// trip to memory, where a separate array of tags and one of nodes cost two or three.
// Removal shifts the following slots back, so there are no tombstones. Hashes of tree
// nodes are SHA-256 digests: their first bytes are already uniform and serve as the
// table's hash.
//
// Thread-safe: the executor and API readers read while the committer adds a block's new
// nodes and releases old ones. Sharded, a lock each, so they rarely wait on each other.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "ledger/state_tree.hpp"

namespace gridpact {

class NodeTable {
 public:
  std::optional<TreeNode> find(const Hash32& hash) const;
  // The nodes of `hashes` into `out` (as many), fetched from memory several at a time;
  // false if any is absent (its `out` is then left as it was).
  bool find_all(std::span<const Hash32> hashes, std::span<TreeNode> out) const;
  // One more reference to `hash` (whose node is `node`: content-addressed, so a node
  // held already is the same node).
  void add(const Hash32& hash, const TreeNode& node);
  // One reference less; the node goes with its last. Releasing an absent node is a no-op.
  void release(const Hash32& hash);
  // The same for many nodes at once, as a block adds and releases them: each shard is
  // locked once, and the slots of the next nodes are fetched from memory while the
  // current one is placed (the table is far larger than the caches: each node is a miss).
  void add_all(std::span<const std::pair<Hash32, TreeNode>> nodes);
  void release_all(std::span<const Hash32> hashes);
  uint32_t references(const Hash32& hash) const;  // 0 when absent
  // Room for `nodes` in all, so that the table does not grow (moving every node into
  // fresh memory, a pause of seconds for a large tree) before it holds that many.
  void reserve(size_t nodes);
  size_t size() const;      // distinct nodes held
  size_t capacity() const;  // nodes it can hold before it grows

 private:
  // 128 bytes, aligned: the reference count and the hash (all a probe reads) in the first
  // cache line, the node across both.
  struct alignas(128) Slot {
    uint32_t refs = 0;  // 0: the slot is empty
    bool leaf = false;
    Hash32 hash;
    Hash32 a, b;
  };
  static_assert(sizeof(Slot) == 128, "a slot is one pair of cache lines");
  // At most three quarters full (linear probing stays short: about 2.5 slots per hit at
  // the worst, and a probe's next slots are the next cache lines); grows by doubling.
  struct Shard {
    mutable std::mutex mutex;
    std::vector<Slot> slots;
    size_t size = 0;
    // The slot holding `hash`, or the empty slot where it would go.
    size_t probe(const Hash32& hash) const;
    void grow(size_t count);  // a power of two, more than size / (3/4)
    // Under the lock:
    void add(const Hash32& hash, const TreeNode& node);
    void release(const Hash32& hash);
    void prefetch(const Hash32& hash) const;
  };
  static constexpr size_t kShards = 16;
  static uint64_t home_of(const Hash32& hash);
  static size_t shard_index(const Hash32& hash) { return hash.data()[8] % kShards; }
  Shard& shard_of(const Hash32& hash) const { return shards_[shard_index(hash)]; }
  // Calls op(shard, i) for every i < n, shard by shard (item i belongs to the shard of
  // hash_of(i)), each shard under its lock once.
  template <class HashOf, class Op>
  void by_shard(size_t n, HashOf hash_of, Op op) const;

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace gridpact
