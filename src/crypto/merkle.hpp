// Binary Merkle trees over a list of leaves, RFC 6962 style: a leaf hashes as
// SHA-256(0x00 || data) and an inner node as SHA-256(0x01 || left || right), so a leaf can
// never be passed off as a node. A list of n leaves splits at the largest power of two
// below n; the empty list hashes to SHA-256("").
#pragma once

#include <cstdint>
#include <vector>

#include "crypto/hash.hpp"

namespace gridpact::merkle {

Hash32 leaf_hash(const uint8_t* data, size_t size);
inline Hash32 leaf_hash(const Hash32& h) {
  return leaf_hash(h.data(), h.size());
}
Hash32 node_hash(const Hash32& left, const Hash32& right);

// Root over already leaf-hashed entries.
Hash32 root(const std::vector<Hash32>& leaf_hashes);

struct Proof {
  uint64_t index = 0;
  uint64_t size = 0;
  std::vector<Hash32> path;  // siblings, from the leaf up
};

Proof prove(const std::vector<Hash32>& leaf_hashes, uint64_t index);

// The whole tree over `leaf_hashes`, built once (about 2n hashes kept), so that each proof
// is a walk up log n levels instead of a rebuild: the API keeps these for recent blocks.
// Level by level, a lone last node is carried up unchanged, which gives the same root and
// paths as prove() (the split at the largest power of two below n).
class Tree {
 public:
  explicit Tree(std::vector<Hash32> leaf_hashes);
  Hash32 root() const;
  Proof prove(uint64_t index) const;
  uint64_t size() const { return levels_.front().size(); }

 private:
  std::vector<std::vector<Hash32>> levels_;  // levels_[0]: the leaves
};

// True when `leaf` (already leaf-hashed) sits at proof.index of a tree with that root.
bool verify(const Hash32& leaf, const Proof& proof, const Hash32& root);

}  // namespace gridpact::merkle
