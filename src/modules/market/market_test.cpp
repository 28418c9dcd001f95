// The market module on a real chain with the real bank and meters modules (virtual meters
// registered with attestation evidence, signed readings).
#include "modules/market/market.hpp"

#include <gtest/gtest.h>

#include <set>

#include "attest/virtual_platform.hpp"
#include "ledger/testing.hpp"
#include "modules/bank/bank.hpp"
#include "modules/meters/meters.hpp"

namespace gridpact::market {
namespace {

constexpr std::string_view kChain = "test";
constexpr uint64_t P = 900'000;  // period length

uint16_t code(Code c) {
  return static_cast<uint16_t>(c);
}

struct Party {
  KeyPair key = KeyPair::generate();
  KeyPair meter_key = KeyPair::generate();
  Hash32 meter;
  uint64_t reading_seq = 1;
  PublicKey pk() const { return key.public_key(); }
};

struct MarketTest : ::testing::Test {
  KeyPair issuer = KeyPair::generate();
  KeyPair operator_key = KeyPair::generate();
  KeyPair tax = KeyPair::generate();
  Party pv_a, grid_b, buyer_a, buyer_b, poor;
  bank::BankModule bank_module;
  meters::MetersModule meters_module;
  MarketModule market_module;
  std::unique_ptr<testing::Chain> chain;
  uint64_t now = 10 * P + 5000;  // period 10

  void start(json market_extra = json::object()) {
    json balances = {{buyer_a.pk().hex(), 10'000'000},
                     {buyer_b.pk().hex(), 10'000'000},
                     {pv_a.pk().hex(), 1'000'000},
                     {grid_b.pk().hex(), 1'000'000},
                     {operator_key.public_key().hex(), 5'000'000},
                     {poor.pk().hex(), 10}};
    json market = {
        {"operator", operator_key.public_key().hex()},
        {"tax_account", tax.public_key().hex()},
        {"tax_ppm", 50'000},  // 5 %
        {"retail_tariff", 300'000},
        {"feed_in_tariff", 80'000},
        {"settlement_deadline_ms", 2 * P},
        {"fees",
         {{"mg-a", {{"mg-a", 0}, {"mg-b", 10'000}}}, {"mg-b", {{"mg-a", 20'000}, {"mg-b", 0}}}}}};
    for (const auto& [k, v] : market_extra.items()) market[k] = v;
    json genesis = {
        {"bank", {{"issuer", issuer.public_key().hex()}, {"balances", balances}}},
        {"meters",
         {{"period_ms", P}, {"allow_virtual", true}, {"authority", issuer.public_key().hex()}}},
        {"market", market}};
    chain = std::make_unique<testing::Chain>(
        std::vector<Module*>{&bank_module, &meters_module, &market_module}, genesis);
    register_meter(pv_a, "mg-a", meters::Source::kPv);
    register_meter(grid_b, "mg-b", meters::Source::kGrid);
    register_meter(buyer_a, "mg-a", meters::Source::kConsumer);
    register_meter(buyer_b, "mg-b", meters::Source::kConsumer);
    register_meter(poor, "mg-a", meters::Source::kConsumer);
  }

  Receipt run(const KeyPair& k, uint16_t type, Bytes payload) {
    return chain->one(k, type, std::move(payload), now += 1000);
  }

  void register_meter(Party& p, const std::string& mg, meters::Source source) {
    meters::RegisterPayload r;
    r.microgrid = mg;
    r.source = source;
    r.location = "here";
    r.firmware_version = "sim-1";
    Bytes key(p.meter_key.public_key().bytes.begin(), p.meter_key.public_key().bytes.end());
    auto nonce = attest::attestation_nonce(kChain, key, meters::registration_challenge(p.pk(), r));
    r.evidence = attest::encode_evidence(attest::make_virtual_evidence(p.meter_key, nonce));
    auto rc = run(p.key, meters::kRegister, meters::encode(r));
    ASSERT_TRUE(rc.ok()) << rc.message;
    p.meter = meters::meter_id_of(key);
  }

  // Cumulative registers at the end of `period` (initial registers are 0), after the
  // periods the meter has not reported yet with unchanged registers (a first reading counts
  // only for the registration period, meters.hpp).
  Receipt reading(Party& p, uint64_t period, uint64_t import_wh, uint64_t export_wh) {
    auto info = meters::find_meter(chain->store(), p.meter);
    auto last = meters::last_reading(chain->store(), p.meter).value_or(meters::LastReading{});
    for (uint64_t q = meters::next_contiguous_period(chain->store(), *info); q < period; ++q)
      if (Receipt rc = signed_reading(p, q, last.import_wh, last.export_wh); !rc.ok()) return rc;
    return signed_reading(p, period, import_wh, export_wh);
  }
  Receipt signed_reading(Party& p, uint64_t period, uint64_t import_wh, uint64_t export_wh) {
    meters::Reading r{p.meter, period, p.reading_seq++, import_wh, export_wh, {}};
    meters::sign_virtual(r, kChain, p.meter_key);
    return run(p.key, meters::kReading, meters::encode(r));
  }

  Receipt offer(Party& p, uint64_t period, uint64_t qty, int64_t price) {
    return run(p.key, kOffer, encode(OfferPayload{"electricity", period, qty, price, p.meter}));
  }
  Receipt bid(Party& p, uint64_t period, uint64_t qty, int64_t price, bool renewable_only = false) {
    BidPayload b;
    b.period = period;
    b.qty = qty;
    b.price = price;
    b.meter = p.meter;
    b.renewable_only = renewable_only;
    return run(p.key, kBid, encode(b));
  }
  static Hash32 id_of(const Receipt& r, const Transaction& tx) {
    (void)r;
    return tx.id();
  }

  json query(const std::string& path, json params = json::object()) {
    auto r = market_module.query(chain->store(), path, params);
    EXPECT_TRUE(r) << r.status().to_string();
    return r ? *r : json();
  }
  uint64_t bal(const Party& p) { return bank::balance(chain->store(), p.pk()); }
  uint64_t bal(const KeyPair& k) { return bank::balance(chain->store(), k.public_key()); }

  // Sum of balances and escrows straight from state: must equal the supply.
  uint64_t holdings() { return bank::holdings(chain->store()); }
  std::map<std::string, std::string> snapshot() {
    std::map<std::string, std::string> m;
    for (const char* prefix : {"market/", "bank/"})
      chain->store().scan(prefix, [&](std::string_view k, std::string_view v) {
        m.emplace(k, v);
        return true;
      });
    return m;
  }
  // Advances block time to `t` with an empty block (end_block runs).
  void tick(uint64_t t) {
    now = std::max(now + 1000, t);
    chain->block({}, now);
  }
};

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

// A delivery short of the trades is shared pro rata by largest remainder: the seller's
// 2,500 Wh over trades of 1,000 and 2,000 Wh are 833 + 1,667, every Wh counted once
// (flooring both shares counted 2,499).
TEST_F(MarketTest, ShortDeliveryRemaindersAreApportioned) {
  start();
  ASSERT_TRUE(offer(pv_a, 12, 3000, 100'000).ok());
  ASSERT_TRUE(bid(buyer_a, 12, 1000, 200'000).ok());
  ASSERT_TRUE(bid(buyer_b, 12, 2000, 200'000).ok());
  tick(12 * P);
  auto trades = query("trades", {{"period", 12}})["trades"];
  ASSERT_EQ(trades.size(), 2u);
  tick(13 * P + 1000);
  ASSERT_TRUE(reading(pv_a, 12, 0, 2500).ok());
  ASSERT_TRUE(reading(buyer_a, 12, 1000, 0).ok());
  ASSERT_TRUE(reading(buyer_b, 12, 2000, 0).ok());
  tick(now + 1000);
  auto ss = query("settlement", {{"period", 12}, {"account", pv_a.pk().hex()}});
  ASSERT_TRUE(ss["settled"]) << ss.dump();
  EXPECT_EQ(ss["delivered_wh"], 2500);
  auto sa = query("settlement", {{"period", 12}, {"account", buyer_a.pk().hex()}});
  auto sb = query("settlement", {{"period", 12}, {"account", buyer_b.pk().hex()}});
  EXPECT_EQ(sa["grid_wh"], 1000 - 833);
  EXPECT_EQ(sb["grid_wh"], 2000 - 1667);
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

TEST_F(MarketTest, MissingReadingAtTheDeadline) {
  start();
  ASSERT_TRUE(offer(pv_a, 12, 1000, 100'000).ok());
  ASSERT_TRUE(bid(buyer_a, 12, 1000, 100'000).ok());
  const uint64_t supply = bank::supply(chain->store());
  tick(12 * P);
  ASSERT_EQ(query("trades", {{"period", 12}})["trades"].size(), 1u);
  // Only the buyer's reading arrives; the seller's never does.
  tick(13 * P + 1000);
  ASSERT_TRUE(reading(buyer_a, 12, 1000, 0).ok());
  tick(now + 1000);
  auto before = query("settlement", {{"period", 12}, {"account", pv_a.pk().hex()}});
  EXPECT_FALSE(before["settled"]);
  EXPECT_TRUE(before["pending"]);
  // Deadline: period end + 2 periods. The seller, without proof of export, delivered
  // nothing: it gets nothing; the buyer pays retail for what it imported.
  tick(15 * P);
  auto ss = query("settlement", {{"period", 12}, {"account", pv_a.pk().hex()}});
  ASSERT_TRUE(ss["settled"]);
  EXPECT_TRUE(ss["missing_reading"]);
  EXPECT_EQ(ss["delivered_wh"], 0);
  EXPECT_EQ(ss["received"], 0);
  EXPECT_EQ(bal(pv_a), 1'000'000u);
  auto sb = query("settlement", {{"period", 12}, {"account", buyer_a.pk().hex()}});
  EXPECT_EQ(sb["grid_wh"], 1000);
  EXPECT_EQ(sb["paid"], 300'000);  // 1 kWh at the retail tariff
  EXPECT_EQ(bal(operator_key), 5'000'000u + 300'000u);
  EXPECT_EQ(holdings(), supply);
  // A late reading changes nothing: the period is settled for good.
  ASSERT_TRUE(reading(pv_a, 12, 0, 1000).ok());
  tick(now + 1000);
  EXPECT_EQ(query("settlement", {{"period", 12}, {"account", pv_a.pk().hex()}}), ss);
  EXPECT_EQ(bal(pv_a), 1'000'000u);
}

TEST_F(MarketTest, BuyerWithoutReadingIsAssumedToHaveTakenAll) {
  start();
  ASSERT_TRUE(offer(pv_a, 12, 1000, 100'000).ok());
  ASSERT_TRUE(bid(buyer_a, 12, 1000, 100'000).ok());
  tick(13 * P + 1000);
  ASSERT_TRUE(reading(pv_a, 12, 0, 1000).ok());
  tick(15 * P);
  auto sb = query("settlement", {{"period", 12}, {"account", buyer_a.pk().hex()}});
  ASSERT_TRUE(sb["settled"]);
  EXPECT_TRUE(sb["missing_reading"]);
  EXPECT_EQ(sb["received_wh"], 1000);
  EXPECT_EQ(sb["paid"], 100'000);  // 1 kWh at 100000 micro/kWh (one microgrid: no fee)
}

TEST_F(MarketTest, BadOrdersGetClearErrorsAndChangeNothing) {
  start();
  auto before = snapshot();
  struct Case {
    Receipt r;
    Code expect;
  };
  BidPayload no_meter;
  no_meter.period = 12;
  no_meter.qty = 10;
  no_meter.price = 1;
  no_meter.meter = sha256("nothing");
  BidPayload bad_source = no_meter;
  bad_source.meter = buyer_a.meter;
  bad_source.allowed_sources = 0x81;
  std::vector<Case> cases;
  cases.push_back({offer(pv_a, 12, 0, 100), kBadOrder});  // zero energy
  cases.push_back({offer(pv_a, 12, 10, -5), kBadOrder});  // negative price
  cases.push_back({run(buyer_a.key, kBid, encode(bad_source)), kUnknownSource});
  cases.push_back({run(buyer_a.key, kBid, encode(no_meter)), kUnknownMeter});
  // An offer from a meter the sender does not own.
  cases.push_back(
      {run(grid_b.key, kOffer, encode(OfferPayload{"electricity", 12, 10, 1, pv_a.meter})),
       kMeterNotOwned});
  cases.push_back({offer(buyer_a, 12, 10, 1), kMeterNotGenerating});          // a consumer meter
  cases.push_back({bid(poor, 12, 1000, 100'000), Code::kInsufficientFunds});  // no escrow
  cases.push_back({offer(pv_a, 10, 10, 1), kGateClosed});                     // the current period
  cases.push_back({offer(pv_a, 100'000, 10, 1), kPeriodTooFar});
  cases.push_back({run(pv_a.key, kOffer, encode(OfferPayload{"gas", 12, 10, 1, pv_a.meter})),
                   kUnknownCommodity});
  cases.push_back({run(pv_a.key, kOffer, Bytes{1, 2, 3}), Code::kTruncated});
  cases.push_back({run(pv_a.key, kCancel, encode(CancelPayload{sha256("x")})), kOrderNotFound});
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(cases[i].r.code, code(cases[i].expect)) << i << ": " << cases[i].r.message;
    EXPECT_FALSE(cases[i].r.message.empty());
  }
  EXPECT_EQ(snapshot(), before);
}

TEST_F(MarketTest, CancelAndAmendBeforeTheGateOnly) {
  start();
  auto tx = chain->sign(
      buyer_a.key, kBid,
      encode(BidPayload{
          "electricity", 12, 1000, 100'000, buyer_a.meter, false, kAnySource, {}, {}, {}}));
  Hash32 id = tx.id();
  ASSERT_TRUE(chain->block({tx}, now += 1000).at(0).ok());
  EXPECT_EQ(bal(buyer_a), 10'000'000u - 300'000u);  // retail is the worst case
  // Someone else cannot cancel it.
  EXPECT_EQ(run(buyer_b.key, kCancel, encode(CancelPayload{id})).code, code(kNotOrderOwner));
  // Amend: 2000 Wh at 400000 locks 800000.
  ASSERT_TRUE(run(buyer_a.key, kAmend, encode(AmendPayload{id, 2000, 400'000})).ok());
  EXPECT_EQ(bal(buyer_a), 10'000'000u - 800'000u);
  EXPECT_EQ(query("orders/" + id.hex())["qty"], 2000);
  // An amendment the buyer cannot cover changes nothing.
  auto before = snapshot();
  EXPECT_EQ(run(buyer_a.key, kAmend, encode(AmendPayload{id, 1'000'000'000, 1'000'000})).code,
            code(Code::kInsufficientFunds));
  EXPECT_EQ(snapshot(), before);
  ASSERT_TRUE(run(buyer_a.key, kCancel, encode(CancelPayload{id})).ok());
  EXPECT_EQ(bal(buyer_a), 10'000'000u);
  EXPECT_EQ(query("orders/" + id.hex())["status"], "cancelled");
  EXPECT_EQ(run(buyer_a.key, kCancel, encode(CancelPayload{id})).code, code(kOrderNotOpen));
  // After the gate an open order can no longer be cancelled.
  auto tx2 = chain->sign(
      buyer_a.key, kBid,
      encode(BidPayload{"electricity", 12, 10, 1, buyer_a.meter, false, kAnySource, {}, {}, {}}));
  ASSERT_TRUE(chain->block({tx2}, now += 1000).at(0).ok());
  now = 12 * P + 10;
  EXPECT_EQ(run(buyer_a.key, kCancel, encode(CancelPayload{tx2.id()})).code, code(kGateClosed));
  EXPECT_EQ(query("orders/" + tx2.id().hex())["status"], "cleared");
  EXPECT_EQ(bal(buyer_a), 10'000'000u);  // nothing traded: refunded at clearing
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

TEST_F(MarketTest, HeatClearsInItsOwnBook) {
  start({{"commodities", {"electricity", "heat"}}});
  ASSERT_TRUE(
      run(pv_a.key, kOffer, encode(OfferPayload{"heat", 12, 500, 40'000, pv_a.meter})).ok());
  ASSERT_TRUE(offer(pv_a, 12, 500, 90'000).ok());
  BidPayload b{"heat", 12, 500, 60'000, buyer_a.meter, false, kAnySource, {}, {}, {}};
  ASSERT_TRUE(run(buyer_a.key, kBid, encode(b)).ok());
  tick(12 * P);
  EXPECT_EQ(query("trades", {{"period", 12}, {"commodity", "heat"}})["trades"].size(), 1u);
  // The electricity offer did not meet the heat bid.
  EXPECT_EQ(query("trades", {{"period", 12}})["trades"].size(), 0u);
  tick(13 * P + 1);  // heat has no meters: settles in full once the period is over
  auto s =
      query("settlement", {{"period", 12}, {"account", buyer_a.pk().hex()}, {"commodity", "heat"}});
  EXPECT_TRUE(s["settled"]);
  EXPECT_EQ(s["received_wh"], 500);
}

TEST_F(MarketTest, ContinuousModeMatchesAsOrdersArrive) {
  start({{"rule", "continuous"}});
  const uint64_t supply = bank::supply(chain->store());
  ASSERT_TRUE(offer(pv_a, 12, 1000, 90'000).ok());
  ASSERT_TRUE(offer(grid_b, 12, 1000, 50'000).ok());  // mg-b -> mg-a costs 20000 in fees
  EXPECT_EQ(query("trades", {{"period", 12}})["trades"].size(), 0u);
  // buyer_a (mg-a) arrives: the best for it is grid_b at 50000 + 20000, then pv_a at 90000.
  auto r = bid(buyer_a, 12, 1500, 100'000);
  ASSERT_TRUE(r.ok()) << r.message;
  auto trades = query("trades", {{"period", 12}})["trades"];
  ASSERT_EQ(trades.size(), 2u);  // before the gate
  EXPECT_EQ(trades[0]["seller"], grid_b.pk().hex());
  EXPECT_EQ(trades[0]["qty_wh"], 1000);
  EXPECT_EQ(trades[0]["price"], 50'000);  // the resting offer's price
  EXPECT_EQ(trades[0]["fee"], 20'000);
  EXPECT_EQ(trades[1]["seller"], pv_a.pk().hex());
  EXPECT_EQ(trades[1]["qty_wh"], 500);
  EXPECT_EQ(trades[1]["price"], 90'000);
  // The traded bid can no longer be cancelled; the gate then closes the book.
  Hash32 bid_id = *Hash32::from_hex(trades[0]["bid"].get<std::string>());
  EXPECT_EQ(run(buyer_a.key, kCancel, encode(CancelPayload{bid_id})).code, code(kOrderNotOpen));
  tick(12 * P);
  EXPECT_EQ(query("price", {{"period", 12}})["trades"], 2);
  EXPECT_EQ(query("trades", {{"period", 12}})["trades"].size(), 2u);
  EXPECT_EQ(holdings(), supply);
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
}  // namespace gridpact::market

namespace gridpact::market {
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
}  // namespace gridpact::market

namespace gridpact::market {
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
}  // namespace gridpact::market
