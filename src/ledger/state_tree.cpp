#include "ledger/state_tree.hpp"

#include <algorithm>
#include <stdexcept>

namespace gridpact {
namespace {

Hash32 hash_pair(uint8_t tag, const Hash32& a, const Hash32& b) {
  uint8_t buf[65];
  buf[0] = tag;
  std::memcpy(buf + 1, a.data(), 32);
  std::memcpy(buf + 33, b.data(), 32);
  return sha256(buf, sizeof buf);
}

// First index whose key has bit `depth` set (updates are sorted, so bits partition them).
size_t split_at(std::span<const TreeUpdate> ups, int depth) {
  auto it = std::partition_point(ups.begin(), ups.end(),
                                 [&](const TreeUpdate& u) { return !key_bit(u.key_hash, depth); });
  return static_cast<size_t>(it - ups.begin());
}

}  // namespace

Hash32 TreeNode::hash() const {
  return hash_pair(leaf ? 0x00 : 0x01, a, b);
}

std::array<uint8_t, 65> TreeNode::encode() const {
  std::array<uint8_t, 65> out;
  out[0] = leaf ? 0x00 : 0x01;
  std::memcpy(out.data() + 1, a.data(), 32);
  std::memcpy(out.data() + 33, b.data(), 32);
  return out;
}

std::optional<TreeNode> TreeNode::decode(const uint8_t* data, size_t size) {
  if (size != 65 || data[0] > 1) return std::nullopt;
  TreeNode n;
  n.leaf = data[0] == 0;
  n.a = Hash32::from_span(data + 1);
  n.b = Hash32::from_span(data + 33);
  return n;
}

bool StateTree::is_leaf(const Hash32& hash) const {
  return !hash.is_zero() && source_.get_node(hash).leaf;
}

StateTree::Ref StateTree::join(const Ref& left, const Ref& right, const Emit& emit) const {
  if (left.hash.is_zero() && right.hash.is_zero()) return {};
  // A lone leaf moves up: the canonical form keeps every leaf as shallow as possible.
  if (left.hash.is_zero() && right.leaf) return right;
  if (right.hash.is_zero() && left.leaf) return left;
  TreeNode node{false, left.hash, right.hash};
  Hash32 h = node.hash();
  emit(h, node);
  return {h, false};
}

StateTree::Ref StateTree::build(int depth, std::span<const TreeUpdate> ups,
                                const Emit& emit) const {
  size_t puts = 0;
  const TreeUpdate* only = nullptr;
  for (const auto& u : ups)
    if (u.value_hash) {
      ++puts;
      only = &u;
    }
  if (puts == 0) return {};
  if (puts == 1) {
    TreeNode leaf{true, only->key_hash, *only->value_hash};
    Hash32 h = leaf.hash();
    emit(h, leaf);
    return {h, true};
  }
  if (depth >= 256) throw std::logic_error("state tree: duplicate key hash");
  size_t mid = split_at(ups, depth);
  return join(build(depth + 1, ups.first(mid), emit), build(depth + 1, ups.subspan(mid), emit),
              emit);
}

StateTree::Ref StateTree::update(const Hash32& node_hash, int depth,
                                 std::span<const TreeUpdate> ups, const Emit& emit,
                                 const Replaced& replaced) const {
  if (ups.empty()) return {node_hash, is_leaf(node_hash)};
  if (node_hash.is_zero()) return build(depth, ups, emit);
  TreeNode node = source_.get_node(node_hash);
  if (replaced) replaced(node_hash);
  if (node.leaf) {
    // Fold the existing leaf into the updates unless one of them rewrites that key.
    auto pos =
        std::lower_bound(ups.begin(), ups.end(), node.a,
                         [](const TreeUpdate& u, const Hash32& k) { return u.key_hash < k; });
    if (pos != ups.end() && pos->key_hash == node.a) return build(depth, ups, emit);
    std::vector<TreeUpdate> merged(ups.begin(), pos);
    merged.push_back({node.a, node.b});
    merged.insert(merged.end(), pos, ups.end());
    return build(depth, merged, emit);
  }
  size_t mid = split_at(ups, depth);
  Ref left =
      mid == 0 ? Ref{node.a, false} : update(node.a, depth + 1, ups.first(mid), emit, replaced);
  Ref right = mid == ups.size() ? Ref{node.b, false}
                                : update(node.b, depth + 1, ups.subspan(mid), emit, replaced);
  // An untouched child's leaf flag matters only when its sibling became empty.
  if (mid == 0 && right.hash.is_zero()) left.leaf = is_leaf(left.hash);
  if (mid == ups.size() && left.hash.is_zero()) right.leaf = is_leaf(right.hash);
  return join(left, right, emit);
}

Hash32 StateTree::apply(const Hash32& root, std::span<const TreeUpdate> updates, const Emit& emit,
                        const Replaced& replaced) const {
  for (size_t i = 1; i < updates.size(); ++i)
    if (!(updates[i - 1].key_hash < updates[i].key_hash))
      throw std::logic_error("state tree: updates must be sorted and unique");
  return update(root, 0, updates, emit, replaced).hash;
}

StateProof StateTree::prove(const Hash32& root, const Hash32& key_hash) const {
  StateProof proof;
  Hash32 current = root;
  int depth = 0;
  while (!current.is_zero()) {
    TreeNode node = source_.get_node(current);
    if (node.leaf) {
      proof.ends_at_leaf = true;
      proof.leaf_key_hash = node.a;
      proof.leaf_value_hash = node.b;
      break;
    }
    bool right = key_bit(key_hash, depth);
    proof.siblings.push_back(right ? node.a : node.b);
    current = right ? node.b : node.a;
    ++depth;
  }
  return proof;
}

bool StateTree::verify(const Hash32& root, const Hash32& key_hash,
                       const std::optional<Hash32>& value_hash, const StateProof& proof) {
  if (proof.siblings.size() > 256) return false;
  const int depth = static_cast<int>(proof.siblings.size());
  Hash32 current;  // zero: the path ends at an empty subtree
  if (proof.ends_at_leaf) {
    if (proof.leaf_key_hash == key_hash) {
      if (!value_hash || *value_hash != proof.leaf_value_hash) return false;
    } else {
      if (value_hash) return false;
      // The other leaf must really sit on our path, or it proves nothing about our key.
      for (int d = 0; d < depth; ++d)
        if (key_bit(proof.leaf_key_hash, d) != key_bit(key_hash, d)) return false;
    }
    current = TreeNode{true, proof.leaf_key_hash, proof.leaf_value_hash}.hash();
  } else if (value_hash) {
    return false;
  }
  for (int d = depth - 1; d >= 0; --d) {
    const Hash32& sibling = proof.siblings[static_cast<size_t>(d)];
    current = key_bit(key_hash, d) ? TreeNode{false, sibling, current}.hash()
                                   : TreeNode{false, current, sibling}.hash();
  }
  return current == root;
}

}  // namespace gridpact
