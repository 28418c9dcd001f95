#include "crypto/merkle.hpp"

namespace gridpact::merkle {
namespace {

uint64_t split_point(uint64_t n) {  // largest power of two strictly below n (n >= 2)
  uint64_t k = 1;
  while (k <= (n - 1) / 2) k *= 2;  // never overflows, even for n near 2^64 (fuzzer find)
  return k;
}

Hash32 subtree_root(const std::vector<Hash32>& leaves, uint64_t begin, uint64_t end) {
  if (end - begin == 1) return leaves[begin];
  uint64_t k = split_point(end - begin);
  return node_hash(subtree_root(leaves, begin, begin + k), subtree_root(leaves, begin + k, end));
}

void collect_path(const std::vector<Hash32>& leaves, uint64_t begin, uint64_t end, uint64_t index,
                  std::vector<Hash32>& path) {
  if (end - begin == 1) return;
  uint64_t k = split_point(end - begin);
  if (index < begin + k) {
    collect_path(leaves, begin, begin + k, index, path);
    path.push_back(subtree_root(leaves, begin + k, end));
  } else {
    collect_path(leaves, begin + k, end, index, path);
    path.push_back(subtree_root(leaves, begin, begin + k));
  }
}

// Recomputes the root from the leaf upwards, mirroring collect_path's recursion.
bool fold(const Hash32& leaf, uint64_t index, uint64_t size, const std::vector<Hash32>& path,
          size_t& used, Hash32& out) {
  if (size == 1) {
    out = leaf;
    return true;
  }
  uint64_t k = split_point(size);
  Hash32 child;
  if (index < k) {
    if (!fold(leaf, index, k, path, used, child) || used >= path.size()) return false;
    out = node_hash(child, path[used++]);
  } else {
    if (!fold(leaf, index - k, size - k, path, used, child) || used >= path.size()) return false;
    out = node_hash(path[used++], child);
  }
  return true;
}

}  // namespace

Hash32 leaf_hash(const uint8_t* data, size_t size) {
  uint8_t prefix = 0x00;
  return Sha256().update(&prefix, 1).update(data, size).finish();
}

Hash32 node_hash(const Hash32& left, const Hash32& right) {
  uint8_t prefix = 0x01;
  return Sha256().update(&prefix, 1).update(left).update(right).finish();
}

Hash32 root(const std::vector<Hash32>& leaf_hashes) {
  if (leaf_hashes.empty()) return sha256(nullptr, 0);
  return subtree_root(leaf_hashes, 0, leaf_hashes.size());
}

Proof prove(const std::vector<Hash32>& leaf_hashes, uint64_t index) {
  Proof p{index, leaf_hashes.size(), {}};
  if (index < leaf_hashes.size()) collect_path(leaf_hashes, 0, leaf_hashes.size(), index, p.path);
  return p;
}

Tree::Tree(std::vector<Hash32> leaf_hashes) {
  levels_.push_back(std::move(leaf_hashes));
  while (levels_.back().size() > 1) {
    const auto& below = levels_.back();
    std::vector<Hash32> up;
    up.reserve((below.size() + 1) / 2);
    for (size_t i = 0; i + 1 < below.size(); i += 2)
      up.push_back(node_hash(below[i], below[i + 1]));
    if (below.size() % 2 == 1) up.push_back(below.back());
    levels_.push_back(std::move(up));
  }
}

Hash32 Tree::root() const {
  if (levels_.front().empty()) return sha256(nullptr, 0);
  return levels_.back().front();
}

Proof Tree::prove(uint64_t index) const {
  Proof p{index, size(), {}};
  if (index >= size()) return p;
  for (size_t level = 0; level + 1 < levels_.size(); ++level, index /= 2) {
    uint64_t sibling = index ^ 1;
    if (sibling < levels_[level].size()) p.path.push_back(levels_[level][sibling]);
  }
  return p;
}

bool verify(const Hash32& leaf, const Proof& proof, const Hash32& expected_root) {
  if (proof.size == 0 || proof.index >= proof.size || proof.path.size() > 64) return false;
  size_t used = 0;
  Hash32 computed;
  if (!fold(leaf, proof.index, proof.size, proof.path, used, computed)) return false;
  return used == proof.path.size() && computed == expected_root;
}

}  // namespace gridpact::merkle
