#include "ledger/node_cache.hpp"

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

// Random inserts, erases and finds against a std::map, with a bound the model never
// reaches, over hashes that collide a lot and hashes that do not.
TEST(NodeCacheTest, MatchesAMapUnderRandomInsertsAndErases) {
  for (bool collide : {false, true}) {
    NodeCache cache(1 << 20);
    std::map<Hash32, uint64_t> model;
    std::mt19937_64 rng(collide ? 3 : 4);
    for (int step = 0; step < 20000; ++step) {
      uint64_t n = rng() % 600;
      Hash32 h = collide && n % 3 == 0 ? colliding(n) : sha256(std::to_string(n));
      switch (rng() % 3) {
        case 0:
          cache.insert(h, node_of(n));
          model.emplace(h, n);
          break;
        case 1:
          cache.erase(h);
          model.erase(h);
          break;
        default: {
          auto found = cache.find(h);
          auto it = model.find(h);
          ASSERT_EQ(found.has_value(), it != model.end()) << "step " << step;
          if (found) {
            TreeNode expected = node_of(it->second);
            EXPECT_EQ(found->leaf, expected.leaf);
            EXPECT_EQ(found->a, expected.a);
            EXPECT_EQ(found->b, expected.b);
          }
        }
      }
      ASSERT_EQ(cache.size(), model.size()) << "step " << step;
    }
    // Every entry the model holds is still found after all the shifting.
    for (const auto& [h, n] : model) {
      auto found = cache.find(h);
      ASSERT_TRUE(found.has_value());
      EXPECT_EQ(found->a, node_of(n).a);
    }
  }
}

TEST(NodeCacheTest, KeepsTheNodeItHoldsAlready) {
  NodeCache cache(1000);
  Hash32 h = sha256("x");
  cache.insert(h, node_of(1));
  cache.insert(h, node_of(2));
  EXPECT_EQ(cache.find(h)->a, node_of(1).a);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(NodeCacheTest, StaysWithinItsBoundAndStartsOverWhenFull) {
  NodeCache cache(160);  // 10 per shard
  for (uint64_t n = 0; n < 5000; ++n) cache.insert(sha256(std::to_string(n)), node_of(n));
  EXPECT_LE(cache.size(), 160u);
  EXPECT_GT(cache.size(), 0u);
  // The latest insert is always found: a full shard empties before it takes one more.
  Hash32 last = sha256("last");
  cache.insert(last, node_of(7));
  EXPECT_TRUE(cache.find(last).has_value());
  NodeCache off(0);
  off.insert(last, node_of(7));
  EXPECT_FALSE(off.find(last).has_value());
}

TEST(NodeCacheTest, ReadersAndAWriterAtOnce) {
  NodeCache cache(1 << 16);
  for (uint64_t n = 0; n < 1000; ++n) cache.insert(sha256(std::to_string(n)), node_of(n));
  std::thread writer([&] {
    for (uint64_t n = 1000; n < 20000; ++n) {
      cache.insert(sha256(std::to_string(n)), node_of(n));
      cache.erase(sha256(std::to_string(n - 500)));
    }
  });
  // Nodes 0-499 are never erased: every read finds them, whole.
  for (int round = 0; round < 50; ++round)
    for (uint64_t n = 0; n < 500; ++n) {
      auto found = cache.find(sha256(std::to_string(n)));
      ASSERT_TRUE(found.has_value());
      ASSERT_EQ(found->b, node_of(n).b);
    }
  writer.join();
}

}  // namespace
}  // namespace gridpact
