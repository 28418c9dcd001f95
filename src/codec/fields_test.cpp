#include "codec/fields.hpp"
#include "codec/layout.hpp"

#include <gtest/gtest.h>

#include "crypto/keys.hpp"

namespace gridpact::codec {
namespace {

using json = nlohmann::json;

enum class Colour : uint8_t { kRed = 1, kGreen = 2, kBlue = 3 };
std::string_view colour_name(Colour c) {
  return c == Colour::kRed ? "red" : c == Colour::kGreen ? "green" : "blue";
}

struct Inner {
  PublicKey account;
  Colour colour = Colour::kRed;
  static constexpr auto fields =
      std::tuple{field("account", &Inner::account),
                 field("colour", &Inner::colour, range(Colour::kRed, Colour::kBlue))};
};

struct Everything {
  bool flag = false;
  uint8_t small = 0;
  uint16_t mid = 0;
  uint32_t wide = 0;
  uint64_t big = 0;
  int64_t price = 0;
  Hash32 id;
  std::string memo;
  Bytes blob;
  Colour colour = Colour::kGreen;
  std::optional<Hash32> maybe;
  std::vector<std::string> labels;
  std::vector<Inner> inners;
  uint16_t bps = 0;
  static constexpr auto fields = std::tuple{
      constant("version", uint8_t{7}, Code::kUnknownVersion),
      field("flag", &Everything::flag),
      field("small", &Everything::small),
      field("mid", &Everything::mid),
      field("wide", &Everything::wide),
      field("big", &Everything::big),
      field("price", &Everything::price),
      field("id", &Everything::id),
      field("memo", &Everything::memo, max_len(8)),
      field("blob", &Everything::blob, max_len(4)),
      field("colour", &Everything::colour, range(Colour::kRed, Colour::kBlue), names(colour_name)),
      field("maybe", &Everything::maybe),
      field("labels", &Everything::labels, max_len(3), item_len(5)),
      field("inners", &Everything::inners, max_len(2)),
      field("bps", &Everything::bps, range<uint16_t>(0, 10000)),
  };
};

Everything sample() {
  Everything e;
  e.flag = true;
  e.small = 0xab;
  e.mid = 0x0102;
  e.wide = 0x03040506;
  e.big = UINT64_MAX - 1;
  e.price = -42;
  e.id = sha256("id");
  e.memo = "héllo";
  e.blob = {1, 2, 3};
  e.colour = Colour::kBlue;
  e.maybe = sha256("maybe");
  e.labels = {"a", "bc"};
  e.inners = {Inner{PublicKey::from_span(sha256("k").data()), Colour::kGreen}};
  e.bps = 9999;
  return e;
}

// The same value, written by hand with the Writer: what the declaration must reproduce.
Bytes by_hand(const Everything& e) {
  Writer w;
  w.u8(7).boolean(e.flag).u8(e.small).u16(e.mid).u32(e.wide).u64(e.big).i64(e.price).fixed(e.id);
  w.str(e.memo, 8).bytes(e.blob, 4).u8(static_cast<uint8_t>(e.colour));
  w.boolean(true).fixed(*e.maybe);
  w.count(e.labels.size(), 3);
  for (const auto& n : e.labels) w.str(n, 5);
  w.count(e.inners.size(), 2);
  for (const auto& i : e.inners) w.fixed(i.account).u8(static_cast<uint8_t>(i.colour));
  w.u16(e.bps);
  return w.take();
}

TEST(Fields, EncodeMatchesTheHandWrittenWriterAndRoundTrips) {
  Everything e = sample();
  Bytes b = encode_fields(e);
  EXPECT_EQ(b, by_hand(e));
  auto back = decode_fields<Everything>(b);
  ASSERT_TRUE(back) << back.status().to_string();
  EXPECT_EQ(encode_fields(*back), b);
  EXPECT_EQ(back->memo, "héllo");
  EXPECT_EQ(back->price, -42);
  EXPECT_EQ(back->maybe, e.maybe);
  ASSERT_EQ(back->inners.size(), 1u);
  EXPECT_EQ(back->inners[0].colour, Colour::kGreen);
}

TEST(Fields, AbsentOptionalIsOneZeroByte) {
  Everything e = sample();
  e.maybe.reset();
  Bytes b = encode_fields(e);
  EXPECT_EQ(b.size(), by_hand(sample()).size() - 32);
  auto back = decode_fields<Everything>(b);
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->maybe);
}

TEST(Fields, JsonViewNamesEveryMemberField) {
  json j = fields_json(sample());
  EXPECT_FALSE(j.contains("version"));
  EXPECT_EQ(j["flag"], true);
  EXPECT_EQ(j["big"], UINT64_MAX - 1);
  EXPECT_EQ(j["price"], -42);
  EXPECT_EQ(j["id"], sha256("id").hex());
  EXPECT_EQ(j["blob"], "010203");
  EXPECT_EQ(j["colour"], "blue");
  EXPECT_EQ(j["labels"], json::array({"a", "bc"}));
  EXPECT_EQ(j["inners"][0]["colour"], 2);  // no names(): the number
  Everything e = sample();
  e.maybe.reset();
  EXPECT_TRUE(fields_json(e)["maybe"].is_null());
}

Code code_of(const Bytes& b) {
  return decode_fields<Everything>(b).status().code;
}

TEST(Fields, DecodingRefusesBadInputWithStableCodes) {
  Bytes good = encode_fields(sample());
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(code_of(trailing), Code::kTrailingBytes);
  EXPECT_EQ(code_of(Bytes(good.begin(), good.end() - 1)), Code::kTruncated);

  Bytes version = good;
  version[0] = 8;
  EXPECT_EQ(code_of(version), Code::kUnknownVersion);
  Bytes flag = good;
  flag[1] = 2;
  EXPECT_EQ(code_of(flag), Code::kBadEncoding);

  // The colour byte follows version, flag, the integers (1+2+4+8+8), the id, memo and blob.
  size_t colour_at = 2 + 23 + 32 + 4 + std::string("héllo").size() + 4 + 3;
  ASSERT_EQ(good[colour_at], 3);
  Bytes colour = good;
  colour[colour_at] = 4;
  EXPECT_EQ(code_of(colour), Code::kBadEncoding);
  colour[colour_at] = 0;
  EXPECT_EQ(code_of(colour), Code::kBadEncoding);

  Bytes bps = good;  // the last field, 9999 -> 10001
  bps[bps.size() - 2] = 0x27;
  bps[bps.size() - 1] = 0x11;
  EXPECT_EQ(code_of(bps), Code::kBadEncoding);
}

TEST(Fields, BoundsAreEnforcedBothWays) {
  Everything e = sample();
  e.memo = "123456789";  // 9 > max_len(8)
  EXPECT_THROW(encode_fields(e), Error);
  Bytes long_memo = by_hand(sample());
  // Rewrite the memo's length prefix (after version, flag, integers and id) to 9.
  long_memo[2 + 23 + 32 + 3] = 9;
  EXPECT_EQ(code_of(long_memo), Code::kFieldTooLong);

  e = sample();
  e.labels = {"a", "b", "c", "d"};  // 4 > max_len(3)
  EXPECT_THROW(encode_fields(e), Error);
  e.labels = {"abcdef"};  // 6 > item_len(5)
  EXPECT_THROW(encode_fields(e), Error);
  e = sample();
  e.inners.resize(3);  // 3 > max_len(2)
  EXPECT_THROW(encode_fields(e), Error);
  e = sample();
  e.bps = 10001;
  EXPECT_THROW(encode_fields(e), Error);
}

struct Flags {
  uint8_t bits = 0;
  static constexpr auto fields = std::tuple{field("bits", &Flags::bits, mask(0x3e))};
};

TEST(Fields, MaskRefusesUnknownBits) {
  EXPECT_TRUE(decode_fields<Flags>(Bytes{0x3e}));
  EXPECT_EQ(decode_fields<Flags>(Bytes{0x01}).status().code, Code::kBadEncoding);
  EXPECT_THROW(encode_fields(Flags{0x40}), Error);
}

// The layout is what the client kits encode from: every kind, bound and name.
TEST(Layout, DescribesEveryField) {
  json l = layout<Everything>();
  ASSERT_EQ(l.size(), 15u);
  EXPECT_EQ(l[0], json({{"name", "version"}, {"kind", "const"}, {"type", "u8"}, {"value", 7}}));
  EXPECT_EQ(l[1]["kind"], "bool");
  EXPECT_EQ(l[5]["kind"], "u64");
  EXPECT_EQ(l[6]["kind"], "i64");
  EXPECT_EQ(l[7], json({{"name", "id"}, {"kind", "fixed"}, {"size", 32}}));
  EXPECT_EQ(l[8], json({{"name", "memo"}, {"kind", "string"}, {"max_len", 8}}));
  EXPECT_EQ(l[9]["kind"], "bytes");
  EXPECT_EQ(l[10]["range"], json({1, 3}));
  EXPECT_EQ(l[10]["values"], json({{"red", 1}, {"green", 2}, {"blue", 3}}));
  EXPECT_EQ(l[11]["item"]["kind"], "fixed");
  EXPECT_EQ(l[12]["item"], json({{"kind", "string"}, {"max_len", 5}}));
  EXPECT_EQ(l[13]["item"]["fields"][1]["kind"], "u8");
  EXPECT_EQ(l[14]["range"], json({0, 10000}));
  EXPECT_EQ(layout<Flags>()[0]["mask"], 0x3e);
}

// Samples stay inside every bound, so the codec takes each; max fills every bound.
TEST(Layout, SamplesAreAtTheEdges) {
  SampleRng rng{1};
  for (Sample kind : {Sample::kZero, Sample::kMax, Sample::kMixed}) {
    Everything e = codec::sample<Everything>(kind, rng);
    EXPECT_TRUE(decode_fields<Everything>(encode_fields(e)));
  }
  Everything max = codec::sample<Everything>(Sample::kMax, rng);
  EXPECT_EQ(max.big, UINT64_MAX);
  EXPECT_EQ(max.price, INT64_MIN);
  EXPECT_EQ(max.memo.size(), 8u);
  EXPECT_EQ(max.labels.size(), 3u);
  EXPECT_EQ(max.labels[0].size(), 5u);
  EXPECT_EQ(max.colour, Colour::kBlue);
  EXPECT_EQ(max.bps, 10000);
  EXPECT_TRUE(max.maybe);
  Everything zero = codec::sample<Everything>(Sample::kZero, rng);
  EXPECT_EQ(zero.colour, Colour::kRed);
  EXPECT_TRUE(zero.memo.empty() && zero.inners.empty() && !zero.maybe);
}

}  // namespace
}  // namespace gridpact::codec
