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

TEST(Status, NamesAreStable) {
  EXPECT_EQ(code_name(Code::kBadSignature), "BAD_SIGNATURE");
  EXPECT_EQ(static_cast<int>(Code::kInsufficientFunds), 300);
  register_code_name(1999, "TEST_MODULE_CODE");
  EXPECT_EQ(code_name(static_cast<Code>(1999)), "TEST_MODULE_CODE");
  EXPECT_EQ(error(Code::kNotIssuer, "x").to_string(), "NOT_ISSUER (301): x");
}

TEST(Checked, DetectsOverflow) {
  EXPECT_FALSE(checked_add(UINT64_MAX, 1).has_value());
  EXPECT_FALSE(checked_sub(1, 2).has_value());
  EXPECT_FALSE(checked_mul(UINT64_MAX, 2).has_value());
  EXPECT_EQ(checked_add(2, 3), 5u);
}

}  // namespace gridpact
