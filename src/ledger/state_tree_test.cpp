#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <unordered_map>

#include "ledger/state_tree.hpp"

namespace gridpact {
namespace {

class MapSource : public TreeNodeSource {
 public:
  TreeNode get_node(const Hash32& h) const override {
    auto it = nodes.find(h);
    if (it == nodes.end()) throw std::runtime_error("missing node");
    return it->second;
  }
  std::unordered_map<Hash32, TreeNode, FixedBytesHasher> nodes;
};

struct Harness {
  MapSource source;
  StateTree tree{source};
  Hash32 root;

  void apply(std::map<Hash32, std::optional<Hash32>> changes) {
    std::vector<TreeUpdate> ups;
    for (auto& [k, v] : changes) ups.push_back({k, v});
    root = tree.apply(root, ups, [&](const Hash32& h, const TreeNode& n) {
      ASSERT_EQ(n.hash(), h);
      source.nodes[h] = n;
    });
  }
};

Hash32 key(int i) {
  return sha256("key" + std::to_string(i));
}
Hash32 val(int i) {
  return sha256("value" + std::to_string(i));
}

}  // namespace

TEST(StateTree, EmptyTreeHasZeroRoot) {
  Harness h;
  h.apply({});
  EXPECT_TRUE(h.root.is_zero());
  h.apply({{key(1), val(1)}});
  EXPECT_EQ(h.root, (TreeNode{true, key(1), val(1)}).hash());
  h.apply({{key(1), std::nullopt}});
  EXPECT_TRUE(h.root.is_zero());
}

TEST(StateTree, RootDependsOnlyOnContentNotOnHistory) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 20; ++round) {
    std::map<int, int> truth;
    Harness incremental;
    for (int step = 0; step < 30; ++step) {
      std::map<Hash32, std::optional<Hash32>> batch;
      int n = static_cast<int>(rng() % 20);
      for (int j = 0; j < n; ++j) {
        int k = static_cast<int>(rng() % 60);
        if (rng() % 4 == 0) {
          truth.erase(k);
          batch[key(k)] = std::nullopt;
        } else {
          int v = static_cast<int>(rng() % 1000);
          truth[k] = v;
          batch[key(k)] = val(v);
        }
      }
      incremental.apply(batch);
    }
    Harness scratch;
    std::map<Hash32, std::optional<Hash32>> all;
    for (auto& [k, v] : truth) all[key(k)] = val(v);
    scratch.apply(all);
    EXPECT_EQ(incremental.root, scratch.root) << "round " << round;
    // Every present key proves its value, every absent one its absence.
    for (int k = 0; k < 60; ++k) {
      auto proof = incremental.tree.prove(incremental.root, key(k));
      auto it = truth.find(k);
      std::optional<Hash32> expected;
      if (it != truth.end()) expected = val(it->second);
      EXPECT_TRUE(StateTree::verify(incremental.root, key(k), expected, proof)) << k;
      EXPECT_FALSE(StateTree::verify(incremental.root, key(k),
                                     expected ? std::nullopt : std::optional<Hash32>(val(1)),
                                     proof));
      if (expected) {
        EXPECT_FALSE(StateTree::verify(incremental.root, key(k), val(999999), proof));
      }
    }
  }
}

TEST(StateTree, TamperedProofFails) {
  Harness h;
  std::map<Hash32, std::optional<Hash32>> batch;
  for (int i = 0; i < 100; ++i) batch[key(i)] = val(i);
  h.apply(batch);
  auto proof = h.tree.prove(h.root, key(5));
  ASSERT_FALSE(proof.siblings.empty());
  EXPECT_TRUE(StateTree::verify(h.root, key(5), val(5), proof));
  auto bad = proof;
  bad.siblings.back().bytes[0] ^= 1;
  EXPECT_FALSE(StateTree::verify(h.root, key(5), val(5), bad));
  auto shorter = proof;
  shorter.siblings.pop_back();
  EXPECT_FALSE(StateTree::verify(h.root, key(5), val(5), shorter));
  // A leaf of another key cannot be passed off as proof that key 5 is absent.
  auto other = h.tree.prove(h.root, key(6));
  EXPECT_FALSE(StateTree::verify(h.root, key(5), std::nullopt, other));
}

TEST(StateTree, UpdateTouchesOnlyOnePath) {
  Harness h;
  std::map<Hash32, std::optional<Hash32>> batch;
  for (int i = 0; i < 4096; ++i) batch[key(i)] = val(i);
  h.apply(batch);
  size_t before = h.source.nodes.size();
  h.apply({{key(17), val(12345)}});
  size_t created = h.source.nodes.size() - before;
  // About log2(4096) = 12 new inner nodes plus one leaf; never anything like the whole tree.
  EXPECT_LE(created, 30u);
  EXPECT_GE(created, 5u);
}

}  // namespace gridpact

namespace gridpact {
namespace {

// Every node reachable from `root` (the live tree).
void collect(const MapSource& source, const Hash32& root, std::set<Hash32>& out) {
  if (root.is_zero()) return;
  out.insert(root);
  TreeNode n = source.get_node(root);
  if (n.leaf) return;
  collect(source, n.a, out);
  collect(source, n.b, out);
}

}  // namespace

TEST(StateTree, ReplacedNodesAreExactlyTheOnesTheNewTreeDropped) {
  std::mt19937_64 rng(7);
  MapSource source;
  StateTree tree(source);
  Hash32 root;
  std::set<Hash32> live;  // what a cache of the latest tree would hold
  for (int step = 0; step < 40; ++step) {
    std::map<Hash32, std::optional<Hash32>> changes;
    for (int j = 0; j < 25; ++j) {
      int k = static_cast<int>(rng() % 200);
      changes[key(k)] = rng() % 4 == 0 ? std::nullopt : std::optional<Hash32>(val(k + step % 3));
    }
    std::vector<TreeUpdate> ups;
    for (auto& [k, v] : changes) ups.push_back({k, v});
    std::vector<Hash32> emitted, replaced;
    root = tree.apply(
        root, ups,
        [&](const Hash32& h, const TreeNode& n) {
          source.nodes[h] = n;
          emitted.push_back(h);
        },
        [&](const Hash32& h) { replaced.push_back(h); });
    // What Store::commit does with its cache: drop the replaced, add the emitted.
    for (const auto& h : replaced) live.erase(h);
    for (const auto& h : emitted) live.insert(h);
    std::set<Hash32> reachable;
    collect(source, root, reachable);
    EXPECT_EQ(live, reachable) << "step " << step;
  }
}

}  // namespace gridpact

namespace gridpact {
namespace {

// Serves batched reads itself and counts how the tree asks for nodes.
class CountingSource : public MapSource {
 public:
  TreeNode get_node(const Hash32& h) const override {
    ++single_reads;
    return MapSource::get_node(h);
  }
  void get_nodes(std::span<const Hash32> hashes, std::span<TreeNode> out) const override {
    batch_sizes.push_back(hashes.size());
    for (size_t i = 0; i < hashes.size(); ++i) out[i] = MapSource::get_node(hashes[i]);
  }
  mutable size_t single_reads = 0;
  mutable std::vector<size_t> batch_sizes;
};

}  // namespace

// An update reads the old tree a level at a time: one batch per depth, each node once,
// and the root it computes is the one a tree built from scratch has.
TEST(StateTree, ReadsTheOldTreeALevelAtATime) {
  CountingSource source;
  StateTree tree(source);
  auto emit = [&](const Hash32& h, const TreeNode& n) { source.nodes[h] = n; };
  std::map<Hash32, std::optional<Hash32>> truth;
  for (int i = 0; i < 4096; ++i) truth[key(i)] = val(i);
  std::vector<TreeUpdate> ups;
  for (auto& [k, v] : truth) ups.push_back({k, v});
  Hash32 root = tree.apply({}, ups, emit);

  std::map<Hash32, std::optional<Hash32>> changes;
  for (int i = 0; i < 200; ++i) changes[key(i * 7)] = val(100000 + i);  // rewrites
  for (int i = 0; i < 50; ++i) changes[key(5000 + i)] = val(i);         // new keys
  ups.clear();
  for (auto& [k, v] : changes) {
    ups.push_back({k, v});
    truth[k] = v;
  }
  std::vector<Hash32> replaced;
  source.batch_sizes.clear();
  root = tree.apply(root, ups, emit, [&](const Hash32& h) { replaced.push_back(h); });
  // About log2(4096) = 12 levels, each read in one batch; nothing read one at a time.
  EXPECT_GE(source.batch_sizes.size(), 10u);
  EXPECT_LE(source.batch_sizes.size(), 30u);
  EXPECT_EQ(source.single_reads, 0u);
  EXPECT_EQ(source.batch_sizes.front(), 1u);  // the root
  size_t read = 0;
  for (size_t n : source.batch_sizes) read += n;
  EXPECT_EQ(read, replaced.size());  // every node read is one the new tree replaces
  EXPECT_EQ(std::set<Hash32>(replaced.begin(), replaced.end()).size(), replaced.size());

  MapSource scratch_source;
  StateTree scratch(scratch_source);
  ups.clear();
  for (auto& [k, v] : truth) ups.push_back({k, v});
  Hash32 expected = scratch.apply(
      {}, ups, [&](const Hash32& h, const TreeNode& n) { scratch_source.nodes[h] = n; });
  EXPECT_EQ(root, expected);
}

}  // namespace gridpact
