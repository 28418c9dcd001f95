// The market's orders on a real chain: refusals that change nothing, cancelling and
// amending before the gate, a second commodity's own book, and continuous matching.
#include <gtest/gtest.h>

#include "modules/market/fixtures.hpp"

namespace gridpact::market::test {
namespace {

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

}  // namespace
}  // namespace gridpact::market::test
