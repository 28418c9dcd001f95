#include "ledger/collections.hpp"

#include <gtest/gtest.h>

#include <map>

namespace gridpact::state {

// A record with its codec beside it, as a module declares one.
struct Reading {
  uint64_t wh = 0;
  std::string note;
  bool operator==(const Reading&) const = default;
};
void encode_value(codec::Writer& w, const Reading& r) {
  w.u64(r.wh).str(r.note, 64);
}
void decode_value(codec::Reader& r, Reading& out) {
  out.wh = r.u64();
  out.note = r.str(64);
}

namespace {

class Empty : public StateReader {
 public:
  std::optional<std::string> get(std::string_view) const override { return std::nullopt; }
  void scan(std::string_view, const Visitor&) const override {}
};

struct CollectionsTest : ::testing::Test {
  Empty base;
  StateOverlay s{base};
};

TEST_F(CollectionsTest, IntegerKeysIterateInNumericOrder) {
  Map<uint64_t, uint64_t> m("t/n/");
  for (uint64_t k : {300ull, 2ull, 0x100000000ull, 1ull, 256ull, 0ull}) m.put(s, k, k * 10);
  std::vector<uint64_t> seen;
  m.each(s, 100, [&](uint64_t k, uint64_t v) {
    EXPECT_EQ(v, k * 10);
    seen.push_back(k);
    return true;
  });
  EXPECT_EQ(seen, (std::vector<uint64_t>{0, 1, 2, 256, 300, 0x100000000ull}));
  EXPECT_EQ(m.key(258), std::string("t/n/") + std::string("\0\0\0\0\0\0\x01\x02", 8));
}

TEST_F(CollectionsTest, StringKeysAreLengthPrefixedSoShorterSortsFirst) {
  Map<std::string, bool> m("t/s/");
  for (const char* k : {"b", "aa", "a", "", "ab"}) m.put(s, k, true);
  std::vector<std::string> seen;
  m.each(s, 100, [&](const std::string& k, bool) {
    seen.push_back(k);
    return true;
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"", "a", "b", "aa", "ab"}));
  EXPECT_EQ(m.key("ab"), std::string("t/s/\0\x02"
                                     "ab",
                                     8));
}

TEST_F(CollectionsTest, PairKeysScanByTheirFirstPart) {
  using Key = std::pair<std::string, uint64_t>;
  Map<Key, Reading> m("t/p/");
  m.put(s, {"heat", 1}, {1, "x"});
  m.put(s, {"electricity", 7}, {7, "y"});
  m.put(s, {"electricity", 3}, {3, "z"});
  // "electricity" with the prefix of "heat" in it must not bleed into "heat"'s scan.
  m.put(s, {"he", 9}, {9, "w"});
  std::vector<Key> seen;
  size_t n = m.each_with(
      s, 100,
      [&](const Key& k, const Reading& r) {
        EXPECT_EQ(r.wh, k.second);
        seen.push_back(k);
        return true;
      },
      std::string("electricity"));
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(seen, (std::vector<Key>{{"electricity", 3}, {"electricity", 7}}));
  seen.clear();
  m.each_with(
      s, 100, [&](const Key& k, const Reading&) { return seen.push_back(k), true; },
      std::string("he"));
  EXPECT_EQ(seen, (std::vector<Key>{{"he", 9}}));
}

TEST_F(CollectionsTest, TupleKeysWithFixedBytesRoundTrip) {
  using Key = std::tuple<std::string, uint64_t, Hash32>;
  Map<Key, Reading> m("t/t/");
  Key k{"electricity", 42, sha256("alice")};
  m.put(s, k, {5, "note"});
  EXPECT_EQ(m.key_of(m.key(k)), k);
  EXPECT_EQ(m.get(s, k), (Reading{5, "note"}));
  EXPECT_FALSE(m.get(s, Key{"electricity", 42, sha256("bob")}));
}

TEST_F(CollectionsTest, RangeIsHalfOpenAndBounded) {
  Map<uint32_t, uint64_t> m("t/r/");
  for (uint32_t k = 0; k < 20; ++k) m.put(s, k, k);
  std::vector<uint32_t> seen;
  auto collect = [&](uint32_t k, uint64_t) { return seen.push_back(k), true; };
  EXPECT_EQ(m.range(s, 5, 9, 100, collect), 4u);
  EXPECT_EQ(seen, (std::vector<uint32_t>{5, 6, 7, 8}));
  seen.clear();
  EXPECT_EQ(m.range(s, 15, std::nullopt, 3, collect), 3u);
  EXPECT_EQ(seen, (std::vector<uint32_t>{15, 16, 17}));
  seen.clear();
  EXPECT_EQ(m.each(s, 2, collect), 2u);
  EXPECT_EQ(seen, (std::vector<uint32_t>{0, 1}));
}

TEST_F(CollectionsTest, ItemsAndSequencesRoundTrip) {
  Item<Reading> item("t/item");
  EXPECT_FALSE(item.get(s));
  item.put(s, {9, "nine"});
  EXPECT_EQ(item.get(s), (Reading{9, "nine"}));
  item.erase(s);
  EXPECT_FALSE(item.has(s));

  Sequence seq("t/seq");
  EXPECT_EQ(seq.next(s), 0u);
  EXPECT_EQ(seq.next(s), 1u);
  EXPECT_EQ(seq.peek(s), 2u);
  // A counter is a big-endian u64, as encode_u64 writes it.
  EXPECT_EQ(*s.get("t/seq"), encode_u64(2));
}

TEST_F(CollectionsTest, BadValueBytesAreRefused) {
  Item<Reading> item("t/bad");
  s.put("t/bad", encode_value_bytes(Reading{1, "x"}) + "!");
  try {
    item.get(s);
    FAIL() << "trailing bytes accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kTrailingBytes);
  }
  s.put("t/bad", std::string("\0\0\0", 3));
  try {
    item.get(s);
    FAIL() << "truncated value accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kTruncated);
  }
  Item<bool> flag("t/flag");
  s.put("t/flag", std::string(1, '\x02'));
  EXPECT_THROW(flag.get(s), Error);
}

TEST_F(CollectionsTest, BadKeyBytesAreRefused) {
  Map<std::pair<std::string, uint64_t>, uint64_t> m("t/k/");
  // A stray key under the prefix: a string length that runs past the end.
  s.put(std::string("t/k/\0\x09"
                    "abc",
                    9),
        encode_u64(1));
  EXPECT_THROW(m.each(s, 10, [](const auto&, uint64_t) { return true; }), Error);
  // A well-formed key with bytes after it.
  EXPECT_THROW(m.key_of(m.key({"a", 1}) + "x"), Error);
  EXPECT_THROW(m.key_of("other/"), Error);
  EXPECT_THROW(m.key({std::string(kMaxKeyString + 1, 'a'), 1}), Error);
}

}  // namespace
}  // namespace gridpact::state
