#include <gtest/gtest.h>

#include "codec/codec.hpp"

namespace gridpact::codec {

TEST(Codec, RoundTripsEveryKind) {
  Writer w;
  Hash32 h = sha256("x");
  w.u8(1)
      .u16(0x0203)
      .u32(0x04050607)
      .u64(UINT64_MAX)
      .i64(-5)
      .boolean(true)
      .fixed(h)
      .str("héllo", 16);
  Bytes b = w.take();
  Reader r(b);
  EXPECT_EQ(r.u8(), 1);
  EXPECT_EQ(r.u16(), 0x0203);
  EXPECT_EQ(r.u32(), 0x04050607u);
  EXPECT_EQ(r.u64(), UINT64_MAX);
  EXPECT_EQ(r.i64(), -5);
  EXPECT_TRUE(r.boolean());
  EXPECT_EQ(r.fixed<32>(), h);
  EXPECT_EQ(r.str(16), "héllo");
  EXPECT_NO_THROW(r.expect_end());
}

TEST(Codec, IntegersAreBigEndianFixedWidth) {
  Writer w;
  w.u32(1);
  EXPECT_EQ(w.data(), (Bytes{0, 0, 0, 1}));
}

Status status_of(const Bytes& b, const std::function<int(Reader&)>& fn) {
  return decode<int>(b.data(), b.size(), fn).status();
}

TEST(Codec, RejectsBadInputWithStableCodes) {
  auto read_u32 = [](Reader& r) { return static_cast<int>(r.u32()); };
  EXPECT_EQ(status_of({0, 0, 1}, read_u32).code, Code::kTruncated);
  EXPECT_EQ(status_of({0, 0, 0, 1, 9}, read_u32).code, Code::kTrailingBytes);
  EXPECT_TRUE(status_of({0, 0, 0, 1}, read_u32).is_ok());
  auto read_str = [](Reader& r) { return static_cast<int>(r.str(3).size()); };
  EXPECT_EQ(status_of({0, 0, 0, 4, 'a', 'b', 'c', 'd'}, read_str).code, Code::kFieldTooLong);
  EXPECT_EQ(status_of({0, 0, 0, 3, 'a'}, read_str).code, Code::kTruncated);
  auto read_bool = [](Reader& r) { return static_cast<int>(r.boolean()); };
  EXPECT_EQ(status_of({2}, read_bool).code, Code::kBadEncoding);
  auto read_count = [](Reader& r) { return static_cast<int>(r.count(1000)); };
  EXPECT_EQ(status_of({0, 0, 0, 200}, read_count).code, Code::kTruncated);
  EXPECT_EQ(status_of({0, 0, 0x10, 0}, read_count).code, Code::kFieldTooLong);
}

TEST(Codec, WriterRefusesOverlongFields) {
  Writer w;
  EXPECT_THROW(w.str("abcd", 3), Error);
}

}  // namespace gridpact::codec
