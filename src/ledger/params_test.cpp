#include "ledger/params.hpp"

#include <gtest/gtest.h>

#include "ledger/module.hpp"

namespace gridpact {
namespace {

class Empty : public StateReader {
 public:
  std::optional<std::string> get(std::string_view) const override { return std::nullopt; }
  void scan(std::string_view, const Visitor&) const override {}
};

// A module with one parameter of each type and a rule across two of them; it reads its
// parameters from state, as every module does.
class Toy : public Module {
 public:
  std::string_view name() const override { return "toy"; }
  std::vector<TxTypeInfo> tx_types() const override { return {}; }
  Status init_genesis(StateOverlay& s, const json& section) override {
    return init_params(s, param_table(), section);
  }
  Status check(const Transaction&) const override { return ok(); }
  Status deliver(TxContext&) override { return ok(); }
  json payload_json(uint16_t, const Bytes&) const override { return nullptr; }
  Result<json> query(const StateReader&, std::string_view, const json&) const override {
    return error(Code::kNotFound, "none");
  }
  std::vector<ParamSpec> param_table() const override {
    return {ParamSpec::u64("toy.tariff", 300, 0, 1000, "price per kWh"),
            ParamSpec::boolean("toy.open", true, "accepting orders"),
            ParamSpec::text("toy.rule", "a", {"a", "b"}, "the rule"),
            ParamSpec::account("toy.tax_account", true, "who collects tax"),
            ParamSpec::u64("toy.tax_ppm", 0, 0, 1'000'000, "tax rate")};
  }
  Status check_params(const StateReader& s) const override {
    if (read_u64_param(s, "toy.tax_ppm") > 0 && !read_account_param(s, "toy.tax_account"))
      return error(Code::kInvalidArgument, "toy.tax_ppm needs toy.tax_account");
    return ok();
  }
  uint64_t tariff(const StateReader& s) const { return read_u64_param(s, "toy.tariff"); }
};

struct ParamsTest : ::testing::Test {
  Empty base;
  StateOverlay s{base};
  Toy toy;
  ParamRegistry registry{{&toy}};
  void SetUp() override { ASSERT_TRUE(toy.init_genesis(s, json{{"tariff", 250}})); }
};

TEST_F(ParamsTest, GenesisWritesDefaultsAndSectionValues) {
  EXPECT_EQ(registry.values(s), (json{{"toy.open", true},
                                      {"toy.rule", "a"},
                                      {"toy.tariff", 250},
                                      {"toy.tax_account", nullptr},
                                      {"toy.tax_ppm", 0}}));
  StateOverlay other(base);
  Status bad = toy.init_genesis(other, json{{"tariff", 1001}});
  EXPECT_EQ(bad.code, Code::kBadGenesis);
  EXPECT_EQ(bad.message, "toy.tariff must be an integer in 0..1000");
}

TEST_F(ParamsTest, AValidChangeIsWhatTheModuleReadsNext) {
  EXPECT_EQ(toy.tariff(s), 250u);
  ASSERT_TRUE(registry.apply(s, json{{"toy.tariff", 310}, {"toy.rule", "b"}}));
  EXPECT_EQ(toy.tariff(s), 310u);
  EXPECT_EQ(read_text_param(s, "toy.rule"), "b");
}

TEST_F(ParamsTest, RefusesUnknownNamesWrongTypesAndOutOfRange) {
  auto code = [&](const json& change) { return registry.apply(s, change).code; };
  EXPECT_EQ(code({{"toy.nope", 1}}), Code::kNotFound);
  EXPECT_EQ(code({{"market.retail_tariff", 1}}), Code::kNotFound);
  EXPECT_EQ(code({{"toy.tariff", "310"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"toy.tariff", true}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"toy.tariff", 1001}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"toy.tariff", -1}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"toy.open", 1}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"toy.rule", "c"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"toy.tax_account", "ab"}}), Code::kInvalidArgument);
  EXPECT_EQ(code(json::object()), Code::kInvalidArgument);
  EXPECT_EQ(registry.validate("toy.tariff", 1001).status().message,
            "toy.tariff must be an integer in 0..1000");
  EXPECT_EQ(toy.tariff(s), 250u);
}

TEST_F(ParamsTest, AChangeIsAllOrNothing) {
  // The second change is out of range: the first must not land either.
  EXPECT_FALSE(registry.apply(s, json{{"toy.tariff", 400}, {"toy.tax_ppm", 2'000'000}}));
  EXPECT_EQ(toy.tariff(s), 250u);
  // The module's rule across parameters: a tax rate without a tax account.
  Status s1 = registry.apply(s, json{{"toy.tariff", 400}, {"toy.tax_ppm", 10}});
  EXPECT_EQ(s1.message, "toy.tax_ppm needs toy.tax_account");
  EXPECT_EQ(toy.tariff(s), 250u);
  std::string key(64, 'a');
  ASSERT_TRUE(registry.apply(s, json{{"toy.tax_ppm", 10}, {"toy.tax_account", key}}));
  EXPECT_EQ(read_account_param(s, "toy.tax_account")->hex(), key);
}

TEST_F(ParamsTest, StoredValuesAreCanonicalBytes) {
  EXPECT_EQ(*s.get("param/toy.tariff"), encode_u64(250));
  EXPECT_EQ(*s.get("param/toy.open"), std::string(1, '\x01'));
  EXPECT_EQ(*s.get("param/toy.rule"), std::string("\0\0\0\x01"
                                                  "a",
                                                  5));
  EXPECT_EQ(*s.get("param/toy.tax_account"), std::string(1, '\0'));
  s.put("param/toy.tariff", "xx");
  EXPECT_THROW(toy.tariff(s), Error);
}

TEST(ParamRegistryTest, ANameDeclaredTwiceIsRefused) {
  Toy a, b;
  EXPECT_THROW(ParamRegistry({&a, &b}), Error);
}

}  // namespace
}  // namespace gridpact
