#include <gtest/gtest.h>

#include "base/error.hpp"
#include "base/hex.hpp"

namespace gridpact {

TEST(Hex, RoundTripsAndRejectsBadInput) {
  Bytes b = {0x00, 0xab, 0xff, 0x10};
  EXPECT_EQ(to_hex(b), "00abff10");
  EXPECT_EQ(from_hex("00ABff10"), b);
  EXPECT_FALSE(from_hex("abc").has_value());
  EXPECT_FALSE(from_hex("zz").has_value());
}

#define TEST_CODES(X)                                      \
  X(kTestFirst, 1900, "TEST_FIRST", "the first test code") \
  X(kTestSecond, 1901, "TEST_SECOND", "the second test code")
GRIDPACT_CODES(kTestCodes, "test", 1900, TEST_CODES);

TEST(Status, NamesAreStable) {
  EXPECT_EQ(code_name(Code::kBadSignature), "BAD_SIGNATURE");
  EXPECT_EQ(static_cast<int>(Code::kInsufficientFunds), 300);
  EXPECT_EQ(code_name(kTestSecond), "UNKNOWN_ERROR");
  register_codes(kTestCodes);
  register_codes(kTestCodes);  // idempotent
  EXPECT_EQ(static_cast<int>(kTestSecond), 1901);
  EXPECT_EQ(code_name(kTestSecond), "TEST_SECOND");
  EXPECT_EQ(error(Code::kNotIssuer, "x").to_string(), "NOT_ISSUER (301): x");
  auto tables = code_tables();
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0]->module, "base");
  EXPECT_EQ(tables[1]->module, "test");
  EXPECT_TRUE(check_code_tables(tables).is_ok()) << check_code_tables(tables).to_string();
}

TEST(Status, BaseCodesAreListedOnce) {
  EXPECT_EQ(kBaseCodes.codes.size(), 43u);  // 31 + the mempool, key, host, stream and HTTP codes
  EXPECT_EQ(kBaseCodes.codes.front().name, "OK");
  EXPECT_EQ(kBaseCodes.codes.back().number, 503);
  const CodeTable* base[] = {&kBaseCodes};
  EXPECT_TRUE(check_code_tables(base).is_ok());
}

// Each kind of conflict check_code_tables must report.
TEST(Status, CodeTableConflictsAreFound) {
  constexpr CodeInfo dup_number[] = {{1950, "TEST_OTHER", "m"}};
  constexpr CodeInfo dup_name[] = {{1960, "TEST_FIRST", "m"}};
  constexpr CodeInfo dup_name_apart[] = {{1860, "TEST_FIRST", "m"}};
  constexpr CodeInfo outside[] = {{2005, "TEST_OUTSIDE", "m"}};
  constexpr CodeInfo fine[] = {{2000, "TEST_FINE", "m"}};
  constexpr CodeInfo base_dup[] = {{2001, "BAD_SIGNATURE", "m"}};
  const CodeTable overlapping{"overlap", 1950, 1999, dup_number};
  const CodeTable same_name{"same_name", 1900, 1999, dup_name};
  const CodeTable out_of_range{"out", 2000, 2003, outside};
  const CodeTable ok{"ok", 2000, 2099, fine};
  const CodeTable renamed{"renamed", 2000, 2099, base_dup};
  auto conflict = [](std::initializer_list<const CodeTable*> t) {
    return check_code_tables(std::span<const CodeTable* const>(t.begin(), t.size()));
  };
  EXPECT_TRUE(conflict({&kBaseCodes, &kTestCodes, &ok}).is_ok());
  Status s = conflict({&kBaseCodes, &kTestCodes, &overlapping});
  EXPECT_NE(s.message.find("overlap"), std::string::npos) << s.message;
  s = conflict({&kTestCodes, &same_name});  // the ranges overlap: found first
  EXPECT_NE(s.message.find("the ranges of same_name and test overlap"), std::string::npos);
  const CodeTable same_name_apart{"same_name", 1800, 1899, dup_name_apart};
  s = conflict({&kTestCodes, &same_name_apart});
  EXPECT_NE(s.message.find("name already used by test"), std::string::npos) << s.message;
  constexpr CodeInfo twice[] = {{1970, "TEST_A", "m"}, {1970, "TEST_B", "m"}};
  const CodeTable twice_table{"twice", 1970, 1979, twice};
  s = conflict({&twice_table});
  EXPECT_NE(s.message.find("TEST_B (1970) of twice: number already used by twice"),
            std::string::npos)
      << s.message;
  s = conflict({&kBaseCodes, &out_of_range});
  EXPECT_NE(s.message.find("TEST_OUTSIDE (2005) of out lies outside 2000..2003"), std::string::npos)
      << s.message;
  s = conflict({&kBaseCodes, &renamed});
  EXPECT_NE(s.message.find("BAD_SIGNATURE (2001) of renamed: name already used by base"),
            std::string::npos)
      << s.message;
}

TEST(Checked, DetectsOverflow) {
  EXPECT_FALSE(checked_add(UINT64_MAX, 1).has_value());
  EXPECT_FALSE(checked_sub(1, 2).has_value());
  EXPECT_FALSE(checked_mul(UINT64_MAX, 2).has_value());
  EXPECT_EQ(checked_add(2, 3), 5u);
}

}  // namespace gridpact
