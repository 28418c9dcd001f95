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
// True when `leaf` (already leaf-hashed) sits at proof.index of a tree with that root.
bool verify(const Hash32& leaf, const Proof& proof, const Hash32& root);

}  // namespace gridpact::merkle
