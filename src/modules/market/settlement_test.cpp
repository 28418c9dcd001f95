// The market's settlement on a real chain when deliveries fall short of the trades or
// readings are missing at the deadline.
#include <gtest/gtest.h>

#include "modules/market/fixtures.hpp"

namespace gridpact::market::test {
namespace {

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

// A book waits while any reading is out and settles in the block after the last one, in
// whatever order they come. Where to look first for an awaited reading is remembered in
// memory between blocks (reading_hints.hpp): a node without that memory, replaying the
// same blocks with fresh modules, computes the same state root at every height.
TEST_F(MarketTest, ReadingsInAnyOrderSettleWithTheLastOneAndTheHintsChangeNoState) {
  start();
  ASSERT_TRUE(offer(pv_a, 12, 3000, 100'000).ok());
  ASSERT_TRUE(bid(buyer_a, 12, 1000, 200'000).ok());
  ASSERT_TRUE(bid(buyer_b, 12, 2000, 200'000).ok());
  tick(12 * P);
  ASSERT_EQ(query("trades", {{"period", 12}})["trades"].size(), 2u);
  tick(13 * P + 1000);
  auto settled = [&] {
    return query("settlement", {{"period", 12}, {"account", pv_a.pk().hex()}})["settled"] == true;
  };
  // The last trade's buyer first, then the seller (every trade's), the first trade's buyer
  // last: each block between looks where the previous one found a reading out.
  ASSERT_TRUE(reading(buyer_b, 12, 2000, 0).ok());
  tick(now + 1000);
  EXPECT_FALSE(settled());
  ASSERT_TRUE(reading(pv_a, 12, 0, 3000).ok());
  tick(now + 1000);
  tick(now + 1000);
  EXPECT_FALSE(settled());
  ASSERT_TRUE(reading(buyer_a, 12, 1000, 0).ok());
  ASSERT_TRUE(settled());  // by the end_block of the reading's own block
  EXPECT_EQ(query("settlement", {{"period", 12}, {"account", pv_a.pk().hex()}})["delivered_wh"],
            3000);

  bank::BankModule bank2;
  meters::MetersModule meters2;
  MarketModule market2;
  testing::Chain replay({&bank2, &meters2, &market2}, genesis_document);
  const uint64_t height = *chain->store().height();
  for (uint64_t h = 1; h <= height; ++h) {
    auto block = chain->store().block(h);
    ASSERT_TRUE(block);
    replay.block(block->txs, block->header.time_ms);
    ASSERT_EQ(replay.store().header(h)->state_root, chain->store().header(h)->state_root)
        << "at height " << h;
  }
}

}  // namespace
}  // namespace gridpact::market::test
