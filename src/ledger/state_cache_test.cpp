#include "ledger/state_cache.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

#include "crypto/keys.hpp"
#include "ledger/store.hpp"

namespace gridpact {
namespace {

StateOverlay::Writes changes(std::initializer_list<std::pair<std::string, const char*>> kv) {
  StateOverlay::Writes w;
  for (const auto& [k, v] : kv) w.emplace_back(k, v ? std::optional<std::string>(v) : std::nullopt);
  return w;
}

TEST(StateCache, RemembersReadsAndAppliesCommits) {
  StateCache cache(1000);
  EXPECT_FALSE(cache.find("a").has_value());
  cache.remember("a", std::string("1"), cache.generation());
  cache.remember("gone", std::nullopt, cache.generation());
  EXPECT_EQ(cache.find("a"), std::optional<std::optional<std::string>>(std::string("1")));
  ASSERT_TRUE(cache.find("gone").has_value());
  EXPECT_FALSE(cache.find("gone")->has_value());  // absence is cached too

  cache.apply(changes({{"a", "2"}, {"b", "3"}, {"gone", "4"}}));
  EXPECT_EQ(cache.find("a"), std::optional<std::optional<std::string>>(std::string("2")));
  EXPECT_EQ(cache.find("b"), std::optional<std::optional<std::string>>(std::string("3")));
  EXPECT_EQ(cache.find("gone"), std::optional<std::optional<std::string>>(std::string("4")));
  cache.apply(changes({{"a", nullptr}}));
  ASSERT_TRUE(cache.find("a").has_value());
  EXPECT_FALSE(cache.find("a")->has_value());
  // Values of another length (overwritten in place or not), then of the same length.
  cache.apply(changes({{"b", "longer"}, {"gone", ""}}));
  EXPECT_EQ(cache.find("b"), std::optional<std::optional<std::string>>(std::string("longer")));
  EXPECT_EQ(cache.find("gone"), std::optional<std::optional<std::string>>(std::string("")));
  cache.apply(changes({{"b", "second"}, {"gone", ""}}));
  EXPECT_EQ(cache.find("b"), std::optional<std::optional<std::string>>(std::string("second")));
  EXPECT_EQ(cache.find("gone"), std::optional<std::optional<std::string>>(std::string("")));
}

// A block's worth of changes, many to each shard (more than are fetched ahead), some to
// keys held already: each key ends with its change, and nothing else moves.
TEST(StateCache, AppliesABlockOfChangesAcrossItsShards) {
  StateCache cache(100'000);
  for (int i = 0; i < 3000; i += 2)
    cache.remember("k" + std::to_string(i), std::string("old"), cache.generation());
  cache.remember("untouched", std::string("stays"), cache.generation());
  StateOverlay::Writes block;
  for (int i = 0; i < 3000; ++i) {
    std::optional<std::string> value;
    if (i % 3 == 1) value = "v" + std::to_string(i);        // other lengths than "old"
    if (i % 3 == 2) value = std::to_string(100 + i % 900);  // as long as "old"
    block.emplace_back("k" + std::to_string(i), value);
  }
  std::sort(block.begin(), block.end());
  cache.apply(block);
  for (const auto& [key, value] : block) {
    auto cached = cache.find(key);
    ASSERT_TRUE(cached.has_value()) << key;
    EXPECT_EQ(*cached, value) << key;
  }
  EXPECT_EQ(cache.find("untouched"),
            std::optional<std::optional<std::string>>(std::string("stays")));
  EXPECT_EQ(cache.size(), 3001u);
}

TEST(StateCache, RefusesAValueReadBeforeACommitThatChangedIt) {
  StateCache cache(1000);
  uint64_t before = cache.generation();
  cache.apply(changes({{"k", "new"}}));
  cache.remember("k", std::string("old"), before);  // the store was read before the commit
  cache.remember("x", std::string("old"), before);  // even for a key the commit did not hold
  EXPECT_EQ(cache.find("k"), std::optional<std::optional<std::string>>(std::string("new")));
  EXPECT_FALSE(cache.find("x").has_value());
}

TEST(StateCache, StaysWithinItsBoundAndCanBeOff) {
  StateCache cache(64);
  for (int i = 0; i < 10'000; ++i)
    cache.remember("key" + std::to_string(i), std::string("v"), cache.generation());
  EXPECT_LE(cache.size(), 64u + 16u);  // per-shard rounding
  EXPECT_GT(cache.size(), 0u);
  StateCache off(0);
  off.remember("a", std::string("1"), off.generation());
  off.apply(changes({{"b", "2"}}));
  EXPECT_FALSE(off.find("a").has_value());
  EXPECT_FALSE(off.find("b").has_value());
  EXPECT_EQ(off.size(), 0u);
}

// Readers race commits on the same key; once the commits stop, every read through the
// store returns the last committed value (a stale one cached by a racing read would not).
TEST(StateCache, StoreReadsRacingCommitsNeverKeepAStaleValue) {
  auto dir = std::filesystem::temp_directory_path() /
             ("gridpact-cache-" + KeyPair::generate().public_key().hex().substr(0, 12));
  {
    auto store = Store::open(dir.string(),
                             {.read_only = false, .state_cache_entries = 1 << 10, .sync = false})
                     .value();
    std::atomic<bool> done{false};
    std::vector<std::thread> readers;
    for (int r = 0; r < 2; ++r)
      readers.emplace_back([&, r] {
        while (!done) (void)store->get("hot/" + std::to_string(r));
      });
    for (uint64_t h = 0; h < 300; ++h) {
      CommitBatch b;
      b.block.header.height = h;
      b.state_changes = {{"hot/0", std::to_string(h)}, {"hot/1", std::to_string(h)}};
      ASSERT_TRUE(store->commit(b).is_ok());
    }
    done = true;
    for (auto& t : readers) t.join();
    EXPECT_EQ(store->get("hot/0"), std::optional<std::string>("299"));
    EXPECT_EQ(store->get("hot/1"), std::optional<std::string>("299"));
  }
  {
    // What the cache served is what is on disk.
    auto store = Store::open(dir.string()).value();
    EXPECT_EQ(store->get("hot/0"), std::optional<std::string>("299"));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gridpact
