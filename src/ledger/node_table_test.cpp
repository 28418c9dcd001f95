#include "ledger/node_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <thread>

namespace gridpact {
namespace {

TreeNode node_of(uint64_t n) {
  TreeNode node;
  node.leaf = n % 2;
  node.a = sha256("a" + std::to_string(n));
  node.b = sha256("b" + std::to_string(n));
  return node;
}

// Hashes that share their first 8 bytes (one home slot) and their shard byte: long probe
// runs, where removal has to shift entries back correctly.
Hash32 colliding(uint64_t n) {
  Hash32 h = sha256("c" + std::to_string(n));
  std::memset(h.data(), 0x5a, 9);
  return h;
}

// Random adds, releases (one by one and in batches) and finds against a std::map of reference
// counts, over hashes that collide a lot and hashes that do not.
TEST(NodeTableTest, MatchesAMapOfReferenceCounts) {
  for (bool collide : {false, true}) {
    NodeTable table;
    std::map<Hash32, std::pair<uint64_t, uint32_t>> model;  // hash -> (node, references)
    std::mt19937_64 rng(collide ? 3 : 4);
    for (int step = 0; step < 30000; ++step) {
      if (step == 15000) table.reserve(5000);  // a rehash in the middle keeps every node
      uint64_t n = rng() % 600;
      Hash32 h = collide && n % 3 == 0 ? colliding(n) : sha256(std::to_string(n));
      switch (rng() % 6) {
        case 5: {  // a batched read: all found, or false when any is absent
          std::vector<Hash32> batch;
          std::vector<uint64_t> numbers;
          bool all_held = true;
          for (int i = 0; i < 30; ++i) {
            uint64_t m = rng() % 600;
            batch.push_back(collide && m % 3 == 0 ? colliding(m) : sha256(std::to_string(m)));
            numbers.push_back(m);
            all_held = all_held && model.count(batch.back());
          }
          std::vector<TreeNode> out(batch.size());
          ASSERT_EQ(table.find_all(batch, out), all_held) << "step " << step;
          for (size_t i = 0; i < batch.size() && all_held; ++i) {
            EXPECT_EQ(out[i].leaf, node_of(numbers[i]).leaf);
            EXPECT_EQ(out[i].a, node_of(numbers[i]).a);
            EXPECT_EQ(out[i].b, node_of(numbers[i]).b);
          }
          break;
        }
        case 3: {  // a batch, repeats included, across shards
          std::vector<std::pair<Hash32, TreeNode>> batch;
          for (int i = 0; i < 40; ++i) {
            uint64_t m = rng() % 600;
            Hash32 hm = collide && m % 3 == 0 ? colliding(m) : sha256(std::to_string(m));
            batch.emplace_back(hm, node_of(m));
            model[hm] = {m, model[hm].second + 1};
          }
          table.add_all(batch);
          break;
        }
        case 4: {
          std::vector<Hash32> batch;
          for (int i = 0; i < 40; ++i) {
            uint64_t m = rng() % 600;
            batch.push_back(collide && m % 3 == 0 ? colliding(m) : sha256(std::to_string(m)));
            if (auto it = model.find(batch.back()); it != model.end() && --it->second.second == 0)
              model.erase(it);
          }
          table.release_all(batch);
          break;
        }
        case 0:
          table.add(h, node_of(n));
          model[h] = {n, model[h].second + 1};
          break;
        case 1:
          table.release(h);
          if (auto it = model.find(h); it != model.end() && --it->second.second == 0)
            model.erase(it);
          break;
        default: {
          auto found = table.find(h);
          auto it = model.find(h);
          ASSERT_EQ(found.has_value(), it != model.end()) << "step " << step;
          ASSERT_EQ(table.references(h), it == model.end() ? 0u : it->second.second);
          if (found) {
            TreeNode expected = node_of(it->second.first);
            EXPECT_EQ(found->leaf, expected.leaf);
            EXPECT_EQ(found->a, expected.a);
            EXPECT_EQ(found->b, expected.b);
          }
        }
      }
      ASSERT_EQ(table.size(), model.size()) << "step " << step;
    }
    // Every entry the model holds is still found after all the shifting.
    for (const auto& [h, entry] : model) {
      auto found = table.find(h);
      ASSERT_TRUE(found.has_value());
      EXPECT_EQ(found->a, node_of(entry.first).a);
      EXPECT_EQ(table.references(h), entry.second);
    }
  }
}

TEST(NodeTableTest, ANodeAddedTwiceStaysUntilReleasedTwice) {
  NodeTable table;
  Hash32 h = sha256("x");
  table.add(h, node_of(1));
  table.add(h, node_of(1));
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.references(h), 2u);
  table.release(h);
  ASSERT_TRUE(table.find(h).has_value());
  EXPECT_EQ(table.find(h)->a, node_of(1).a);
  table.release(h);
  EXPECT_FALSE(table.find(h).has_value());
  EXPECT_EQ(table.size(), 0u);
  table.release(h);  // absent: nothing happens
  EXPECT_EQ(table.size(), 0u);
  std::vector<Hash32> one{h};
  std::vector<TreeNode> out(1);
  EXPECT_FALSE(table.find_all(one, out));  // an empty table holds nothing
}

TEST(NodeTableTest, ReadersAndAWriterAtOnce) {
  NodeTable table;
  for (uint64_t n = 0; n < 1000; ++n) table.add(sha256(std::to_string(n)), node_of(n));
  std::thread writer([&] {
    for (uint64_t n = 1000; n < 20000; ++n) {
      table.add(sha256(std::to_string(n)), node_of(n));
      table.release(sha256(std::to_string(n - 500)));
    }
  });
  // Nodes 0-499 are never erased: every read finds them, whole.
  for (int round = 0; round < 50; ++round)
    for (uint64_t n = 0; n < 500; ++n) {
      auto found = table.find(sha256(std::to_string(n)));
      ASSERT_TRUE(found.has_value());
      ASSERT_EQ(found->b, node_of(n).b);
    }
  writer.join();
}

}  // namespace
}  // namespace gridpact
