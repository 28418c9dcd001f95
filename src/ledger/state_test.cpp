#include <gtest/gtest.h>

#include "ledger/state.hpp"

#include <memory>
#include <random>
#include <stdexcept>

namespace gridpact {
namespace {

class MapReader : public StateReader {
 public:
  std::map<std::string, std::string, std::less<>> data;
  std::optional<std::string> get(std::string_view k) const override {
    auto it = data.find(k);
    if (it == data.end()) return std::nullopt;
    return it->second;
  }
  void scan(std::string_view prefix, const Visitor& fn) const override {
    for (auto it = data.lower_bound(prefix); it != data.end() && it->first.starts_with(prefix);
         ++it)
      if (!fn(it->first, it->second)) return;
  }
};

std::vector<std::string> keys_of(const StateReader& r, std::string_view prefix) {
  std::vector<std::string> out;
  r.scan(prefix, [&](std::string_view k, std::string_view v) {
    out.push_back(std::string(k) + "=" + std::string(v));
    return true;
  });
  return out;
}

}  // namespace

TEST(StateOverlay, ScanMergesWritesAndDeletesInOrder) {
  MapReader base;
  base.data = {{"a/1", "x"}, {"a/3", "y"}, {"a/5", "z"}, {"b/1", "q"}};
  StateOverlay o(base);
  o.put("a/2", "new");
  o.put("a/3", "over");
  o.erase("a/5");
  o.put("a/6", "tail");
  o.put("b/0", "other");
  EXPECT_EQ(keys_of(o, "a/"),
            (std::vector<std::string>{"a/1=x", "a/2=new", "a/3=over", "a/6=tail"}));
  StateOverlay child(o);
  child.erase("a/1");
  child.put("a/0", "first");
  EXPECT_EQ(keys_of(child, "a/"),
            (std::vector<std::string>{"a/0=first", "a/2=new", "a/3=over", "a/6=tail"}));
  EXPECT_EQ(base.data.size(), 4u);  // nothing reached the base
  child.merge_into(o);
  EXPECT_FALSE(o.get("a/1").has_value());
  EXPECT_EQ(o.get("a/0"), "first");
}

TEST(StateOverlay, ScanStopsWhenAsked) {
  MapReader base;
  base.data = {{"a/1", "x"}, {"a/3", "y"}};
  StateOverlay o(base);
  o.put("a/2", "n");
  int seen = 0;
  o.scan("a/", [&](std::string_view, std::string_view) { return ++seen < 2; });
  EXPECT_EQ(seen, 2);
}

TEST(StateValues, U64RoundTrip) {
  EXPECT_EQ(decode_u64(encode_u64(0x0102030405060708ULL)), 0x0102030405060708ULL);
  EXPECT_FALSE(decode_u64("abc").has_value());
}

}  // namespace gridpact

namespace gridpact {

TEST(StateOverlay, ChildLayersOverParentInsteadOfCopyingIt) {
  MapReader base;
  StateOverlay parent(base);
  parent.put("k", "parent");
  StateOverlay child(parent);
  EXPECT_TRUE(child.empty());           // nothing copied
  EXPECT_EQ(child.get("k"), "parent");  // but everything visible
  parent.put("k2", "late");
  EXPECT_EQ(child.get("k2"), "late");
}

// The overlay keeps its order in a sorted list plus recently added keys; whatever the mix
// of writes, erases, child merges and scans, it must read exactly like an ordered map
// layered over the base.
TEST(StateOverlay, ReadsLikeAnOrderedMapOverItsBase) {
  std::mt19937_64 rng(42);
  MapReader base;
  for (int i = 0; i < 300; ++i)
    base.data["p" + std::to_string(rng() % 10) + "/" + std::to_string(rng() % 500)] = "b";
  std::map<std::string, std::optional<std::string>> model;  // what the overlay holds
  StateOverlay root(base);
  StateOverlay o(root);  // merged into root at the end
  auto random_key = [&] {
    return "p" + std::to_string(rng() % 10) + "/" + std::to_string(rng() % 500);
  };
  auto expected_scan = [&](const std::string& prefix) {
    std::map<std::string, std::string> merged;
    for (const auto& [k, v] : base.data)
      if (k.starts_with(prefix)) merged[k] = v;
    for (const auto& [k, v] : model)
      if (k.starts_with(prefix)) {
        if (v)
          merged[k] = *v;
        else
          merged.erase(k);
      }
    std::vector<std::string> out;
    for (const auto& [k, v] : merged) out.push_back(k + "=" + v);
    return out;
  };
  auto expected_get = [&](const std::string& k) {
    std::optional<std::string> want;
    if (auto it = model.find(k); it != model.end())
      want = it->second;
    else if (auto b = base.data.find(k); b != base.data.end())
      want = b->second;
    return want;
  };
  for (int step = 0; step < 20'000; ++step) {
    int op = static_cast<int>(rng() % 11);
    if (op < 5) {
      std::string k = random_key(), v = std::to_string(step);
      o.put(k, v);
      model[k] = v;
    } else if (op < 6) {
      std::string k = random_key();
      o.erase(k);
      model[k] = std::nullopt;
    } else if (op < 7) {
      // A transaction's writes, merged only on success.
      StateOverlay child(o);
      std::string k = random_key(), v = "c" + std::to_string(step);
      child.put(k, v);
      if (rng() % 2) {
        child.merge_into(o);
        model[k] = v;
      }
    } else if (op < 9) {
      std::string k = random_key();
      ASSERT_EQ(o.get(k), expected_get(k)) << k;
    } else if (op < 10) {
      std::string prefix = rng() % 4 ? "p" + std::to_string(rng() % 10) + "/" : "";
      ASSERT_EQ(keys_of(o, prefix), expected_scan(prefix)) << "step " << step;
    } else {
      // Shards on disjoint keys (by the key's last digit), adopted whole.
      size_t n = 1 + rng() % 3;
      std::vector<std::unique_ptr<StateOverlay>> shards;
      for (size_t i = 0; i < n; ++i) {
        shards.push_back(std::make_unique<StateOverlay>(o));
        if (rng() % 2) shards.back()->reserve(rng() % 64);  // billing's shards reserve
      }
      for (int w = 0; w < 40; ++w) {
        std::string k = random_key();
        auto& shard = *shards[static_cast<size_t>(k.back() - '0') % n];
        ASSERT_EQ(shard.get(k), expected_get(k)) << k;
        if (rng() % 5) {
          std::string v = "s" + std::to_string(step) + "." + std::to_string(w);
          shard.put(k, v);
          model[k] = v;
        } else {
          shard.erase(k);
          model[k] = std::nullopt;
        }
      }
      o.adopt(std::move(shards));
    }
  }
  ASSERT_EQ(o.size(), model.size());
  StateOverlay::Writes writes = o.writes();
  ASSERT_EQ(writes.size(), model.size());
  size_t i = 0;
  for (const auto& [k, v] : model) {
    EXPECT_EQ(writes[i].first, k);
    EXPECT_EQ(writes[i].second, v);
    ++i;
  }
  o.merge_into(root);
  EXPECT_TRUE(o.empty());
  EXPECT_EQ(root.writes(), writes);
  EXPECT_EQ(root.take_writes(), writes);
  EXPECT_TRUE(root.empty());
}

// An end_block's pattern: thousands of writes, then a few scans (which pick their matches
// out of the unsorted keys rather than sort them all), then more writes: every scan and the
// block's change list still come out in key order.
TEST(StateOverlay, ScansAfterABulkWriteStayInOrder) {
  MapReader base;
  base.data["due/5"] = "b";
  StateOverlay o(base);
  std::map<std::string, std::string> model = {{"due/5", "b"}};
  std::mt19937_64 rng(7);
  auto write = [&](const std::string& k) {
    o.put(k, "v" + k);
    model[k] = "v" + k;
  };
  for (int i = 0; i < 10'000; ++i) write("order/" + std::to_string(rng() % 100'000));
  for (int round = 0; round < 4; ++round) {
    write("due/" + std::to_string(round * 3));
    std::vector<std::string> want;
    for (const auto& [k, v] : model)
      if (k.starts_with("due/")) want.push_back(k + "=" + v);
    ASSERT_EQ(keys_of(o, "due/"), want) << "round " << round;
    for (int i = 0; i < 500; ++i) write("trade/" + std::to_string(rng() % 100'000));
  }
  StateOverlay::Writes writes = o.writes();
  std::vector<std::string> got, want;
  for (const auto& [k, v] : writes) got.push_back(k);
  for (const auto& [k, v] : model)
    if (k != "due/5") want.push_back(k);
  EXPECT_EQ(got, want);
}

TEST(StateOverlay, AdoptsOnlyItsOwnChildren) {
  MapReader base;
  StateOverlay o(base), other(base);
  std::vector<std::unique_ptr<StateOverlay>> strays;
  strays.push_back(std::make_unique<StateOverlay>(other));
  EXPECT_THROW(o.adopt(std::move(strays)), std::logic_error);
}

TEST(StateOverlay, TakesWritesFromAdoptedLayersToo) {
  MapReader base;
  base.data["a"] = "base";
  StateOverlay o(base);
  o.put("a", "old");
  o.put("b", "mine");
  std::vector<std::unique_ptr<StateOverlay>> shards;
  shards.push_back(std::make_unique<StateOverlay>(o));
  shards.push_back(std::make_unique<StateOverlay>(o));
  shards[0]->put("a", "shard0");
  shards[1]->put("c", "shard1");
  o.adopt(std::move(shards));
  EXPECT_EQ(o.get("a"), "shard0");
  o.put("c", "after");  // goes to the layer that holds it
  StateOverlay::Writes want = {{"a", "shard0"}, {"b", "mine"}, {"c", "after"}};
  EXPECT_EQ(o.writes(), want);
  EXPECT_EQ(o.size(), 3u);
  EXPECT_EQ(o.take_writes(), want);
  EXPECT_TRUE(o.empty());
  EXPECT_EQ(o.get("a"), "base");
}

}  // namespace gridpact

namespace gridpact {

// A block's writes read through a WritesView answer every get and scan as the base with
// those writes applied would (erasures included), and a scan stops when asked.
TEST(WritesView, ReadsLikeTheBaseWithTheWritesApplied) {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 20; ++round) {
    MapReader base;
    for (int i = 0; i < 200; ++i)
      base.data["p" + std::to_string(rng() % 5) + "/" + std::to_string(rng() % 100)] = "b";
    StateOverlay block(base);
    for (int i = 0; i < 150; ++i) {
      std::string k = "p" + std::to_string(rng() % 5) + "/" + std::to_string(rng() % 100);
      if (rng() % 4)
        block.put(k, "w" + std::to_string(i));
      else
        block.erase(k);
    }
    StateOverlay::Writes writes = block.writes();
    MapReader applied = base;
    for (const auto& [k, v] : writes) {
      if (v)
        applied.data[k] = *v;
      else
        applied.data.erase(k);
    }
    WritesView view(writes, base);
    for (int p = 0; p < 5; ++p)
      for (int n = 0; n < 100; ++n) {
        std::string k = "p" + std::to_string(p) + "/" + std::to_string(n);
        ASSERT_EQ(view.get(k), applied.get(k)) << k;
      }
    for (std::string prefix : {"", "p0/", "p3/", "p4/9", "q"})
      ASSERT_EQ(keys_of(view, prefix), keys_of(applied, prefix)) << prefix;
    size_t seen = 0;
    view.scan("", [&](std::string_view, std::string_view) { return ++seen < 7; });
    EXPECT_EQ(seen, 7u);
  }
}

}  // namespace gridpact
