// The market module on a real chain with the real bank and meters modules (virtual meters
// registered with attestation evidence, signed readings).
#include <gtest/gtest.h>

#include <set>

#include "modules/market/fixtures.hpp"

namespace gridpact::market::test {
namespace {

TEST_F(MarketTest, OrdersClearSettleAndConserveMoney) {
  start();
  const uint64_t supply = bank::supply(chain->store());
  ASSERT_EQ(holdings(), supply);
  ASSERT_TRUE(offer(pv_a, 12, 1000, 100'000).ok());
  ASSERT_TRUE(offer(grid_b, 12, 2000, 50'000).ok());
  // buyer_a wants green energy only: pv_a's 1000 Wh is all it can get.
  auto rb = bid(buyer_a, 12, 1500, 200'000, true);
  ASSERT_TRUE(rb.ok()) << rb.message;
  // Escrow: ceil(1500 Wh x max(200000, retail 300000) / 1000) micro.
  EXPECT_EQ(bal(buyer_a), 10'000'000u - 450'000u);
  ASSERT_TRUE(bid(buyer_b, 12, 1500, 150'000).ok());
  EXPECT_EQ(holdings(), supply);
  // The book is open until the gate (start of period 12).
  auto book = query("book", {{"period", 12}});
  EXPECT_EQ(book["orders"].size(), 4u);

  tick(12 * P);  // gate closes: cleared in this block
  EXPECT_EQ(query("book", {{"period", 12}})["orders"].size(), 0u);
  auto trades = query("trades", {{"period", 12}})["trades"];
  uint64_t a_pv = 0, b_grid = 0;
  for (const auto& t : trades) {
    if (t["buyer"] == buyer_a.pk().hex()) {
      EXPECT_EQ(t["source"], "pv");  // the preference held
      a_pv += t["qty_wh"].get<uint64_t>();
    }
    if (t["buyer"] == buyer_b.pk().hex() && t["seller"] == grid_b.pk().hex())
      b_grid += t["qty_wh"].get<uint64_t>();
    EXPECT_LE(t["price"].get<int64_t>() + t["fee"].get<int64_t>(),
              t["buyer"] == buyer_a.pk().hex() ? 200'000 : 150'000);
  }
  EXPECT_EQ(a_pv, 1000u);
  EXPECT_EQ(b_grid, 1500u);
  EXPECT_EQ(holdings(), supply);
  auto price = query("price", {{"period", 12}});
  EXPECT_EQ(price["trades"], trades.size());
  EXPECT_TRUE(price.contains("note"));  // two microgrids: no uniform price

  // Settlement waits for the readings (period 13 now).
  tick(13 * P + 1000);
  EXPECT_FALSE(query("settlement", {{"period", 12}, {"account", buyer_a.pk().hex()}})["settled"]);
  EXPECT_FALSE(find_settlement(chain->store(), kElectricity, 12, buyer_a.pk()));
  // pv_a exported only 800 Wh of its 1000; buyers imported what they bought.
  ASSERT_TRUE(reading(pv_a, 12, 0, 800).ok());
  ASSERT_TRUE(reading(grid_b, 12, 0, 2000).ok());
  ASSERT_TRUE(reading(buyer_a, 12, 1000, 0).ok());
  auto last = reading(buyer_b, 12, 1500, 0);
  ASSERT_TRUE(last.ok()) << last.message;
  tick(now + 1000);
  auto sa = query("settlement", {{"period", 12}, {"account", buyer_a.pk().hex()}});
  ASSERT_TRUE(sa["settled"]) << sa.dump();
  auto ss = query("settlement", {{"period", 12}, {"account", pv_a.pk().hex()}});
  EXPECT_EQ(ss["delivered_wh"], 800);
  EXPECT_EQ(sa["received_wh"], 1000);
  EXPECT_EQ(sa["grid_wh"], 200);  // pv_a's shortfall came from the grid at retail
  // The typed lookup other code reads (the simulator's report) says what the query says.
  for (const auto* who : {&buyer_a, &pv_a}) {
    auto typed = find_settlement(chain->store(), kElectricity, 12, who->pk());
    ASSERT_TRUE(typed);
    auto j = query("settlement", {{"period", 12}, {"account", who->pk().hex()}});
    EXPECT_EQ(j["received_wh"], typed->received_wh);
    EXPECT_EQ(j["delivered_wh"], typed->delivered_wh);
    EXPECT_EQ(j["grid_wh"], typed->grid_wh);
    EXPECT_EQ(j["spilled_wh"], typed->spilled_wh);
    EXPECT_EQ(j["bought_wh"], typed->bought_wh);
    EXPECT_EQ(j["sold_wh"], typed->sold_wh);
    EXPECT_EQ(j["paid"], typed->paid);
    EXPECT_EQ(j["received"], typed->received);
    EXPECT_EQ(j["fees"], typed->fees);
    EXPECT_EQ(j["tax"], typed->tax);
  }
  EXPECT_FALSE(find_settlement(chain->store(), "heat", 12, pv_a.pk()));
  EXPECT_FALSE(find_settlement(chain->store(), "", 12, pv_a.pk()));
  // Money: conserved, escrows gone, every statement adds up.
  EXPECT_EQ(bank::supply(chain->store()), supply);
  EXPECT_EQ(holdings(), supply);
  EXPECT_EQ(bank::locked(chain->store(), buyer_a.pk()), 0u);
  EXPECT_EQ(bank::locked(chain->store(), buyer_b.pk()), 0u);
  EXPECT_EQ(bal(buyer_a), 10'000'000u - sa["paid"].get<uint64_t>());
  EXPECT_EQ(bal(pv_a), 1'000'000u + ss["received"].get<uint64_t>());
  EXPECT_GT(ss["tax"].get<uint64_t>(), 0u);
  EXPECT_EQ(
      bal(tax),
      query("settlement", {{"period", 12}, {"account", pv_a.pk().hex()}})["tax"].get<uint64_t>() +
          query("settlement", {{"period", 12}, {"account", grid_b.pk().hex()}})["tax"]
              .get<uint64_t>());
  // pv_a was paid for 800 Wh at the trade price less 5 % tax.
  int64_t pv_price = 0;
  for (const auto& t : trades)
    if (t["seller"] == pv_a.pk().hex()) pv_price = t["price"];
  uint64_t paid_for_800 = ss["received"].get<uint64_t>() + ss["tax"].get<uint64_t>();
  EXPECT_LE(paid_for_800, static_cast<uint64_t>(800 * pv_price / 1000));
  EXPECT_GE(paid_for_800 + 1, static_cast<uint64_t>(800 * pv_price / 1000));  // two floors

  // Provenance: buyer_a's energy mix for the period, each trade with its receipts.
  auto mix = query("mix/" + buyer_a.pk().hex(), {{"from_ms", 12 * P}, {"to_ms", 13 * P}});
  EXPECT_EQ(mix["total_wh"], 1000);
  EXPECT_EQ(mix["renewable_wh"], 1000);
  EXPECT_EQ(mix["by_source"]["pv"], 1000);
  ASSERT_FALSE(mix["trades"].empty());
  EXPECT_EQ(mix["trades"][0]["seller_meter"], pv_a.meter.hex());
  EXPECT_EQ(mix["trades"][0]["receipts"]["bid_tx"], mix["trades"][0]["bid"]);
  EXPECT_EQ(query("mix/" + buyer_a.pk().hex(), {{"from_ms", 13 * P}})["total_wh"], 0);
}

// Issue 20: the trades and energy-mix queries answered every trade at once. They answer
// pages of at most `limit` (1..1000) and where the next one starts (`next`, null at the end).
TEST_F(MarketTest, TradesAndMixAnswerPages) {
  start();
  ASSERT_TRUE(offer(pv_a, 12, 1000, 100'000).ok());
  ASSERT_TRUE(offer(grid_b, 12, 2000, 50'000).ok());
  ASSERT_TRUE(bid(buyer_a, 12, 2500, 250'000).ok());
  ASSERT_TRUE(bid(buyer_b, 12, 400, 250'000).ok());
  tick(12 * P);
  const json all = query("trades", {{"period", 12}});
  ASSERT_GE(all["trades"].size(), 3u);
  EXPECT_TRUE(all["next"].is_null());
  json paged = json::array();
  json next = 0;
  for (size_t pages = 0; !next.is_null(); ++pages) {
    ASSERT_LT(pages, all["trades"].size());
    json page = query("trades", {{"period", 12}, {"limit", 1}, {"from", next}});
    ASSERT_EQ(page["trades"].size(), 1u);
    paged.push_back(page["trades"][0]);
    next = page["next"];
  }
  EXPECT_EQ(paged, all["trades"]);
  EXPECT_EQ(market_module.query(chain->store(), "trades", {{"period", 12}, {"limit", 1001}})
                .status()
                .code,
            Code::kInvalidArgument);

  const std::string mix = "mix/" + buyer_a.pk().hex();
  const json whole = query(mix);
  ASSERT_GE(whole["trades"].size(), 2u);
  EXPECT_TRUE(whole["next"].is_null());
  json mixed = json::array();
  uint64_t total = 0;
  json after = "";
  for (size_t pages = 0; !after.is_null(); ++pages) {
    ASSERT_LT(pages, whole["trades"].size());
    json params = {{"limit", 1}};
    if (!after.get<std::string>().empty()) params["after"] = after;
    json page = query(mix, params);
    ASSERT_EQ(page["trades"].size(), 1u);
    mixed.push_back(page["trades"][0]);
    total += page["total_wh"].get<uint64_t>();
    after = page["next"];
  }
  EXPECT_EQ(mixed, whole["trades"]);
  EXPECT_EQ(total, whole["total_wh"].get<uint64_t>());
}

// Bounded work: a book holds at most max_orders_per_book open orders, one account at most
// max_orders_per_account of them (BOOK_FULL), and end_block clears at most
// max_books_per_block due books, the rest in the next blocks.
TEST_F(MarketTest, BooksAndBlocksHaveBoundedWork) {
  start({{"max_orders_per_account", 2}, {"max_orders_per_book", 3}, {"max_books_per_block", 1}});
  ASSERT_TRUE(offer(pv_a, 12, 1000, 100'000).ok());
  ASSERT_TRUE(offer(pv_a, 12, 1000, 110'000).ok());
  EXPECT_EQ(offer(pv_a, 12, 1000, 120'000).code, code(kBookFull));  // the account's bound
  ASSERT_TRUE(bid(buyer_a, 12, 500, 200'000).ok());
  EXPECT_EQ(bid(buyer_b, 12, 500, 200'000).code, code(kBookFull));  // the book's bound
  ASSERT_TRUE(offer(pv_a, 13, 1000, 100'000).ok());                 // another book
  ASSERT_TRUE(bid(buyer_b, 13, 500, 200'000).ok());
  tick(13 * P + 1000);  // both gates are closed: one book per block
  EXPECT_EQ(query("book", {{"period", 12}})["orders"].size(), 0u);
  EXPECT_EQ(query("book", {{"period", 13}})["orders"].size(), 2u);
  tick(now + 1000);
  EXPECT_EQ(query("book", {{"period", 13}})["orders"].size(), 0u);
  EXPECT_EQ(query("trades", {{"period", 13}})["trades"].size(), 1u);
}

TEST_F(MarketTest, GenesisParametersAreChecked) {
  MarketModule m;
  json bad = {{"operator", "xyz"}};
  testing::TempDir dir;
  auto store = Store::open((dir.path / "db").string(), {.sync = false}).value();
  StateOverlay s(*store);
  EXPECT_EQ(m.init_genesis(s, bad).code, Code::kBadGenesis);
  json typo = {{"operator", operator_key.public_key().hex()}, {"retail_tarif", 5}};
  EXPECT_NE(m.init_genesis(s, typo).message.find("retail_tarif"), std::string::npos);
  json fees = {{"operator", operator_key.public_key().hex()},
               {"fees", {{"a", {{"a", 0}, {"b", 5}}}, {"b", {{"b", 0}}}}}};
  EXPECT_NE(m.init_genesis(s, fees).message.find("fees.b.a"), std::string::npos);
  json rule = {{"operator", operator_key.public_key().hex()}, {"rule", "greedy"}};
  EXPECT_EQ(m.init_genesis(s, rule).code, Code::kBadGenesis);
  EXPECT_TRUE(m.init_genesis(s, {{"operator", operator_key.public_key().hex()}}));
}

TEST(MarketSchema, HeaderKeyTableMatchesTheDeclaredCollections) {
  MarketModule m;
  auto drift = testing::schema_drift(m, GRIDPACT_SOURCE_DIR "/src/modules/market/market.hpp");
  EXPECT_TRUE(drift.empty()) << ::testing::PrintToString(drift);
}

TEST_F(MarketTest, StateHoldsNoJsonText) {
  start();
  ASSERT_TRUE(offer(pv_a, 12, 1000, 100'000).ok());
  ASSERT_TRUE(bid(buyer_a, 12, 1000, 100'000).ok());
  tick(12 * P);
  tick(13 * P + 2 * P + 1000);  // past the settlement deadline: statements written
  ASSERT_TRUE(query("settlement", {{"period", 12}, {"account", buyer_a.pk().hex()}})["settled"]);
  size_t values = 0;
  for (const char* prefix : {"market/", "param/market."})
    chain->store().scan(prefix, [&](std::string_view k, std::string_view v) {
      ++values;
      EXPECT_FALSE(v.starts_with("{") || v.starts_with("[")) << k << " holds JSON: " << v;
      return true;
    });
  EXPECT_GT(values, 10u);
  EXPECT_EQ(query("params")["retail_tariff"], 300'000);
  EXPECT_EQ(query("params")["fees"]["mg-a"]["mg-b"], 10'000);
  EXPECT_EQ(query("price", {{"period", 12}})["volume_wh"], 1000);
}

TEST_F(MarketTest, AParameterChangeIsWhatTheMarketReadsNext) {
  start();
  ParamRegistry registry(chain->executor().modules());
  EXPECT_EQ(registry.values(chain->store())["market.retail_tariff"], 300'000);
  // A change through the one path governance will use, committed as a block would be.
  StateOverlay change(chain->store());
  EXPECT_EQ(registry.apply(change, {{"market.retail_tariff", 2'000'000'000}}).code,
            Code::kInvalidArgument);
  EXPECT_EQ(registry.apply(change, {{"market.tax_account", nullptr}}).message,
            "market.tax_ppm needs a market.tax_account");
  ASSERT_TRUE(registry.apply(change, {{"market.retail_tariff", 400'000}}));
  EXPECT_EQ(query("params")["retail_tariff"], 300'000);  // not yet committed
  auto writes = change.take_writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].first, "param/market.retail_tariff");
  // The market reads its parameters from state: over the change, it sees the new value.
  WritesView after(writes, chain->store());
  EXPECT_EQ(read_u64_param(after, "market.retail_tariff"), 400'000u);
  EXPECT_EQ(registry.values(after)["market.retail_tariff"], 400'000);
  auto json_params = market_module.query(after, "params", json::object());
  ASSERT_TRUE(json_params);
  EXPECT_EQ((*json_params)["retail_tariff"], 400'000);
}

}  // namespace
}  // namespace gridpact::market::test

namespace gridpact::market::test {
namespace {

// The payloads' field declarations give byte for byte what the hand-written encoders
// (before codec/fields.hpp) gave, so signed transactions and fuzz corpora stay valid.
TEST(MarketPayloads, FieldsEncodeAsTheHandWrittenEncoders) {
  OfferPayload o{"electricity", 7, 1000, -5, sha256("m")};
  EXPECT_EQ(encode(o), codec::Writer()
                           .str(o.commodity, kMaxCommodity)
                           .u64(o.period)
                           .u64(o.qty)
                           .i64(o.price)
                           .fixed(o.meter)
                           .take());
  BidPayload b;
  b.period = 9;
  b.qty = 500;
  b.price = 120000;
  b.meter = sha256("b");
  b.renewable_only = true;
  b.allowed_sources = 0x06;
  b.excluded_sellers = {sha256("x")};
  b.excluded_microgrids = {"mg-a", "mg-b"};
  b.preferred_sellers = {sha256("y"), sha256("z")};
  codec::Writer w;
  w.str(b.commodity, kMaxCommodity).u64(b.period).u64(b.qty).i64(b.price).fixed(b.meter);
  w.boolean(b.renewable_only).u8(b.allowed_sources);
  w.count(1, kMaxPrefList).fixed(b.excluded_sellers[0]);
  w.count(2, kMaxPrefList).str("mg-a", kMaxMicrogrid).str("mg-b", kMaxMicrogrid);
  w.count(2, kMaxPrefList).fixed(b.preferred_sellers[0]).fixed(b.preferred_sellers[1]);
  EXPECT_EQ(encode(b), w.take());
  auto back = decode_bid(encode(b));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->excluded_microgrids, b.excluded_microgrids);
  EXPECT_EQ(encode(CancelPayload{sha256("o")}), codec::Writer().fixed(sha256("o")).take());
  AmendPayload a{sha256("o"), 3, 4};
  EXPECT_EQ(encode(a), codec::Writer().fixed(a.order).u64(3).i64(4).take());

  b.excluded_microgrids.assign(kMaxPrefList + 1, "mg");
  EXPECT_THROW(encode(b), Error);
  Bytes trailing = encode(a);
  trailing.push_back(1);
  EXPECT_EQ(decode_amend(trailing).status().code, Code::kTrailingBytes);
}

}  // namespace
}  // namespace gridpact::market::test

namespace gridpact::market::test {
namespace {

// Every event recorded by bank, meters and market transactions and by market clearing and
// settlement is the canonical encoding of a declared event type: no JSON text in receipts.
TEST_F(MarketTest, ReceiptsCarryTypedEventsNotJsonText) {
  start();
  ASSERT_TRUE(offer(pv_a, 12, 1000, 100'000).ok());
  ASSERT_TRUE(offer(grid_b, 12, 2000, 50'000).ok());
  ASSERT_TRUE(bid(buyer_a, 12, 1500, 200'000, true).ok());
  auto amended = bid(buyer_b, 12, 1500, 150'000);
  ASSERT_TRUE(amended.ok());
  auto cancelled = bid(buyer_a, 12, 1, 1);
  ASSERT_TRUE(cancelled.ok()) << cancelled.message;
  ASSERT_TRUE(run(buyer_a.key, kCancel, encode(CancelPayload{cancelled.tx_id})).ok());
  auto amend_r = run(buyer_b.key, kAmend, encode(AmendPayload{amended.tx_id, 1500, 140'000}));
  ASSERT_TRUE(amend_r.ok()) << amend_r.message;
  ASSERT_TRUE(
      run(buyer_b.key, bank::kTransfer, bank::encode(bank::TransferPayload{poor.pk(), 5, "tip"}))
          .ok());
  ASSERT_TRUE(
      run(issuer, bank::kMint, bank::encode(bank::MintPayload{issuer.public_key(), 9})).ok());
  ASSERT_TRUE(run(issuer, bank::kBurn, bank::encode(bank::BurnPayload{9})).ok());
  ASSERT_TRUE(
      run(issuer, meters::kPolicy,
          meters::encode(meters::PolicyPayload{meters::PolicyOp::kAddMeasurement, Bytes(32, 7)}))
          .ok());
  tick(12 * P);  // cleared
  tick(13 * P + 1000);
  ASSERT_TRUE(reading(pv_a, 12, 0, 800).ok());
  ASSERT_TRUE(reading(grid_b, 12, 0, 2000).ok());
  ASSERT_TRUE(reading(buyer_a, 12, 1000, 0).ok());
  ASSERT_TRUE(reading(buyer_b, 12, 1500, 0).ok());
  tick(now + 1000);  // settled
  ASSERT_TRUE(
      run(poor.key, meters::kRevoke, meters::encode(meters::RevokePayload{poor.meter})).ok());

  std::vector<const Module*> modules = {&bank_module, &meters_module, &market_module};
  std::set<std::string> seen;
  for (uint64_t h = 1; h <= *chain->store().height(); ++h)
    for (const Receipt& r : chain->store().receipts(h))
      for (const Event& e : r.events) {
        seen.insert(e.type);
        EXPECT_TRUE(json::parse(e.data, nullptr, false).is_discarded()) << e.type << ": " << e.data;
        std::optional<json> view;
        for (const Module* m : modules)
          if (e.type.starts_with(std::string(m->name()) + "/")) view = m->event_json(e);
        ASSERT_TRUE(view) << e.type << " is not a declared event type, or does not decode";
        EXPECT_TRUE(view->is_object());
      }
  for (const char* type :
       {"bank/transfer", "bank/mint", "bank/burn", "meters/registered", "meters/reading",
        "meters/policy", "meters/revoked", "market/offer", "market/bid", "market/cancel",
        "market/amend", "market/cleared", "market/settled"})
    EXPECT_TRUE(seen.count(type)) << type << " was not exercised";
}

}  // namespace
}  // namespace gridpact::market::test
