#include <gtest/gtest.h>

#include "ledger/state.hpp"

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
  EXPECT_TRUE(child.writes().empty());  // nothing copied
  EXPECT_EQ(child.get("k"), "parent");  // but everything visible
  parent.put("k2", "late");
  EXPECT_EQ(child.get("k2"), "late");
}

}  // namespace gridpact
