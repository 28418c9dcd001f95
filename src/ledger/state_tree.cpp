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

StateTree::Ref StateTree::merge_leaf(const TreeNode& leaf, int depth,
                                     std::span<const TreeUpdate> ups, const Emit& emit) const {
  // Fold the existing leaf into the updates unless one of them rewrites that key.
  auto pos = std::lower_bound(ups.begin(), ups.end(), leaf.a,
                              [](const TreeUpdate& u, const Hash32& k) { return u.key_hash < k; });
  if (pos != ups.end() && pos->key_hash == leaf.a) return build(depth, ups, emit);
  std::vector<TreeUpdate> merged(ups.begin(), pos);
  merged.push_back({leaf.a, leaf.b});
  merged.insert(merged.end(), pos, ups.end());
  return build(depth, merged, emit);
}

std::vector<std::vector<StateTree::Visit>> StateTree::read_paths(
    const Hash32& root, std::span<const TreeUpdate> updates, const Replaced& replaced) const {
  // A level at a time: the reads, not the hashing, are what an update of a large tree
  // waits on, and a level's reads can be fetched from memory together.
  std::vector<std::vector<Visit>> levels(1);
  levels[0].emplace_back(root, 0, static_cast<uint32_t>(updates.size()));
  std::vector<Hash32> hashes;
  std::vector<TreeNode> nodes;
  for (int depth = 0; !levels.back().empty(); ++depth) {
    std::vector<Visit>& level = levels.back();
    hashes.clear();
    for (const Visit& v : level) hashes.push_back(v.hash);
    nodes.resize(level.size());
    source_.get_nodes(hashes, nodes);
    std::vector<Visit> below;
    below.reserve(std::min(2 * level.size(), updates.size()));  // each has an update at least
    for (size_t i = 0; i < level.size(); ++i) {
      Visit& v = level[i];
      v.node = nodes[i];
      if (replaced) replaced(v.hash);
      if (v.node.leaf) continue;
      if (depth >= 256) throw std::logic_error("state tree: an inner node below depth 255");
      v.mid = v.begin +
              static_cast<uint32_t>(split_at(updates.subspan(v.begin, v.end - v.begin), depth));
      if (v.mid > v.begin && !v.node.a.is_zero()) {
        v.left = static_cast<int32_t>(below.size());
        below.emplace_back(v.node.a, v.begin, v.mid);
      }
      if (v.mid < v.end && !v.node.b.is_zero()) {
        v.right = static_cast<int32_t>(below.size());
        below.emplace_back(v.node.b, v.mid, v.end);
      }
    }
    levels.push_back(std::move(below));
  }
  return levels;
}

Hash32 StateTree::apply(const Hash32& root, std::span<const TreeUpdate> updates, const Emit& emit,
                        const Replaced& replaced) const {
  for (size_t i = 1; i < updates.size(); ++i)
    if (!(updates[i - 1].key_hash < updates[i].key_hash))
      throw std::logic_error("state tree: updates must be sorted and unique");
  if (updates.empty()) return root;
  if (root.is_zero()) return build(0, updates, emit).hash;

  std::vector<std::vector<Visit>> levels = read_paths(root, updates, replaced);
  // Up from the deepest level: each visited node's replacement, from its children's.
  for (size_t depth = levels.size() - 1; depth-- > 0;) {
    const int d = static_cast<int>(depth);
    for (Visit& v : levels[depth]) {
      if (v.node.leaf) {
        v.result = merge_leaf(v.node, d, updates.subspan(v.begin, v.end - v.begin), emit);
        continue;
      }
      auto child = [&](const Hash32& hash, int32_t visit, uint32_t from, uint32_t to) -> Ref {
        if (from == to) return {hash, false};  // untouched
        if (visit >= 0) return levels[depth + 1][static_cast<size_t>(visit)].result;
        return build(d + 1, updates.subspan(from, to - from), emit);  // was empty
      };
      Ref left = child(v.node.a, v.left, v.begin, v.mid);
      Ref right = child(v.node.b, v.right, v.mid, v.end);
      // An untouched child's leaf flag matters only when its sibling became empty.
      if (v.mid == v.begin && right.hash.is_zero()) left.leaf = is_leaf(left.hash);
      if (v.mid == v.end && left.hash.is_zero()) right.leaf = is_leaf(right.hash);
      v.result = join(left, right, emit);
    }
  }
  return levels[0][0].result.hash;
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
