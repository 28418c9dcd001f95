// The state commitment: a sparse Merkle tree over SHA-256(key), with leaf shortcuts.
//
// Why this construction: every node and every language can recompute it with nothing but
// SHA-256; its root depends only on the set of (key, value) pairs, not on the order they
// were written in; an update touches only the path from the root to the changed leaf, so
// a block's cost grows with the keys it changes (about log2(#keys) hashes per key), not
// with the size of the state; and it gives short proofs both of a value and of absence.
//
//   empty subtree   32 zero bytes (never stored)
//   leaf            SHA-256(0x00 || key_hash || value_hash), value_hash = SHA-256(value)
//   inner node      SHA-256(0x01 || left || right)
//
// Path bits are read from key_hash, most significant bit first. A leaf sits at the
// shallowest depth where it is alone in its subtree: an inner node never has one leaf and
// one empty child, so the tree for a given set of pairs is unique.
//
// Nodes are content-addressed (hash -> node) and never overwritten, so a past root stays
// readable for as long as its nodes are held (the store holds the last few blocks').
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "crypto/hash.hpp"

namespace gridpact {

struct TreeNode {
  bool leaf = false;
  Hash32 a;  // leaf: key_hash;   inner: left child
  Hash32 b;  // leaf: value_hash; inner: right child

  Hash32 hash() const;
  // 0x00|key|value or 0x01|left|right; an array, so a commit of many nodes allocates none.
  std::array<uint8_t, 65> encode() const;
  static std::optional<TreeNode> decode(const uint8_t* data, size_t size);
};

// Where the tree reads nodes from and writes new ones to (RocksDB in the node, a map in
// tests). Reads of a node that is not there mean a corrupt store: implementations throw.
class TreeNodeSource {
 public:
  virtual ~TreeNodeSource() = default;
  virtual TreeNode get_node(const Hash32& hash) const = 0;
  // The nodes of `hashes`, into `out` (as many). An update reads its paths a level at a
  // time through this, so that a source far larger than the caches can fetch a level's
  // nodes from memory together instead of one miss after another.
  virtual void get_nodes(std::span<const Hash32> hashes, std::span<TreeNode> out) const {
    for (size_t i = 0; i < hashes.size(); ++i) out[i] = get_node(hashes[i]);
  }
};

struct TreeUpdate {
  Hash32 key_hash;
  std::optional<Hash32> value_hash;  // nullopt deletes the key
};

struct StateProof {
  std::vector<Hash32> siblings;  // from the root down
  // What the path ends at: an empty subtree, or a leaf (ours, or another key's, which
  // proves that ours is absent).
  bool ends_at_leaf = false;
  Hash32 leaf_key_hash;
  Hash32 leaf_value_hash;
};

class StateTree {
 public:
  explicit StateTree(const TreeNodeSource& source) : source_(source) {}

  // Applies updates (sorted by key_hash, no duplicates) to the tree under `root`. New
  // nodes are passed to `emit`; returns the new root. `replaced`, when given, hears of
  // every node of the old tree that the new tree no longer uses (unless an identical node
  // is emitted again): it stays in the store for old roots' proofs, but a cache of the
  // latest tree can drop it.
  Hash32 apply(const Hash32& root, std::span<const TreeUpdate> updates,
               const std::function<void(const Hash32&, const TreeNode&)>& emit,
               const std::function<void(const Hash32&)>& replaced = nullptr) const;

  StateProof prove(const Hash32& root, const Hash32& key_hash) const;

  // Checks that under `root`, `key_hash` maps to `value_hash` (or is absent when nullopt).
  static bool verify(const Hash32& root, const Hash32& key_hash,
                     const std::optional<Hash32>& value_hash, const StateProof& proof);

 private:
  struct Ref {
    Hash32 hash;
    bool leaf = false;
  };
  using Emit = std::function<void(const Hash32&, const TreeNode&)>;
  using Replaced = std::function<void(const Hash32&)>;
  // A node of the old tree on the path of some updates.
  struct Visit {
    Visit(const Hash32& node_hash, uint32_t from, uint32_t to)
        : hash(node_hash), begin(from), end(to) {}
    Hash32 hash;
    uint32_t begin = 0, end = 0;    // its updates, a range of the sorted updates
    uint32_t mid = 0;               // inner: [begin, mid) go left, [mid, end) right
    int32_t left = -1, right = -1;  // the child visits a level down, if any
    TreeNode node;
    Ref result;  // what replaces it in the new tree
  };
  // The old tree's nodes on the updates' paths, by depth (replaced() hears of each).
  std::vector<std::vector<Visit>> read_paths(const Hash32& root, std::span<const TreeUpdate> ups,
                                             const Replaced& replaced) const;
  Ref merge_leaf(const TreeNode& leaf, int depth, std::span<const TreeUpdate> ups,
                 const Emit& emit) const;
  Ref build(int depth, std::span<const TreeUpdate> ups, const Emit& emit) const;
  Ref join(const Ref& left, const Ref& right, const Emit& emit) const;
  bool is_leaf(const Hash32& hash) const;

  const TreeNodeSource& source_;
};

inline bool key_bit(const Hash32& key_hash, int depth) {
  return (key_hash.bytes[depth >> 3] >> (7 - (depth & 7))) & 1;
}

}  // namespace gridpact
