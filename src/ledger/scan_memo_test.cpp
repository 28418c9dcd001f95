#include "ledger/scan_memo.hpp"

#include <gtest/gtest.h>

#include <map>

namespace gridpact {
namespace {

// A base that counts the scans it serves.
class CountingReader : public StateReader {
 public:
  std::map<std::string, std::string, std::less<>> data;
  mutable size_t scans = 0;
  std::optional<std::string> get(std::string_view k) const override {
    auto it = data.find(k);
    if (it == data.end()) return std::nullopt;
    return it->second;
  }
  void scan(std::string_view prefix, const Visitor& fn) const override {
    ++scans;
    for (auto it = data.lower_bound(prefix); it != data.end() && it->first.starts_with(prefix);
         ++it)
      if (!fn(it->first, it->second)) return;
  }
};

std::vector<std::string> scan_all(const StateReader& r, std::string_view prefix,
                                  size_t limit = SIZE_MAX) {
  std::vector<std::string> out;
  r.scan(prefix, [&](std::string_view k, std::string_view v) {
    out.push_back(std::string(k) + "=" + std::string(v));
    return out.size() < limit;
  });
  return out;
}

std::string key(std::string_view prefix, int i) {
  return std::string(prefix) + (i < 10 ? "0" : "") + std::to_string(i);
}

}  // namespace

TEST(ScanMemo, ASmallRangeIsReadFromTheBaseOnce) {
  CountingReader base;
  for (int i = 0; i < 3; ++i) base.data[key("p/", i)] = std::to_string(i);
  base.data["q/1"] = "other";
  ScanMemo memo(base);
  const std::vector<std::string> want = {"p/00=0", "p/01=1", "p/02=2"};
  EXPECT_EQ(scan_all(memo, "p/"), want);
  EXPECT_EQ(scan_all(memo, "p/"), want);
  EXPECT_EQ(scan_all(memo, "p/", 2), std::vector<std::string>(want.begin(), want.begin() + 2));
  EXPECT_EQ(base.scans, 1u);
  EXPECT_EQ(memo.ranges_kept(), 1u);
  EXPECT_EQ(memo.get("q/1"), "other");
  EXPECT_EQ(scan_all(memo, "none/"), std::vector<std::string>{});  // an empty range is kept too
  EXPECT_EQ(scan_all(memo, "none/"), std::vector<std::string>{});
  EXPECT_EQ(base.scans, 2u);
}

TEST(ScanMemo, ALargeRangeIsAlwaysScannedFromTheBase) {
  CountingReader base;
  const int n = static_cast<int>(ScanMemo::kMaxEntries) + 1;
  for (int i = 0; i < n; ++i) base.data[key("big/", i)] = "v";
  ScanMemo memo(base);
  EXPECT_EQ(scan_all(memo, "big/").size(), static_cast<size_t>(n));
  EXPECT_EQ(scan_all(memo, "big/").size(), static_cast<size_t>(n));
  EXPECT_EQ(base.scans, 3u);  // the first attempt, then each scan
  EXPECT_EQ(memo.ranges_kept(), 0u);
}

TEST(ScanMemo, KeepsAtMostMaxRangesAndStillAnswersTheRest) {
  CountingReader base;
  const size_t n = ScanMemo::kMaxRanges + 10;
  for (size_t i = 0; i < n; ++i) base.data["r/" + std::to_string(i) + "/x"] = "v";
  ScanMemo memo(base);
  for (size_t i = 0; i < n; ++i)
    ASSERT_EQ(scan_all(memo, "r/" + std::to_string(i) + "/").size(), 1u);
  EXPECT_EQ(memo.ranges_kept(), ScanMemo::kMaxRanges);
  const size_t scans = base.scans;
  EXPECT_EQ(scan_all(memo, "r/" + std::to_string(n - 1) + "/").size(), 1u);  // not kept
  EXPECT_EQ(base.scans, scans + 1);
}

TEST(ScanMemo, KeepsAtMostMaxBytes) {
  CountingReader base;
  const std::string value(ScanMemo::kMaxBytes / 3, 'v');
  for (int i = 0; i < 4; ++i) base.data[key("v/", i) + "/x"] = value;
  ScanMemo memo(base);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(scan_all(memo, key("v/", i) + "/").size(), 1u);
  EXPECT_EQ(memo.ranges_kept(), 2u);  // a third would pass kMaxBytes with the keys
}

TEST(ScanMemo, ABlockOverlayStillSeesItsOwnWrites) {
  CountingReader base;
  base.data = {{"p/1", "a"}, {"p/3", "c"}};
  ScanMemo memo(base);
  StateOverlay block(memo);
  EXPECT_EQ(scan_all(block, "p/"), (std::vector<std::string>{"p/1=a", "p/3=c"}));
  block.put("p/2", "b");
  block.erase("p/3");
  EXPECT_EQ(scan_all(block, "p/"), (std::vector<std::string>{"p/1=a", "p/2=b"}));
  EXPECT_EQ(base.scans, 1u);
}

}  // namespace gridpact
