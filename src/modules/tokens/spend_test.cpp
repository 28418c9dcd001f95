// Spending green tokens on a real chain: transfers, redemption and the pool, bids paid
// partly in tokens, and a cancelled bid's tokens returned.
#include <gtest/gtest.h>

#include "modules/tokens/fixtures.hpp"

namespace gridpact::tokens::test {
namespace {

TEST_F(TokensTest, TransferRedeemAndPool) {
  start({{"redeem_rate", 200'000}});  // 0.2 currency per token
  Party a = party(), b = party();
  add_meter(a, "mg", Source::kPv);
  tick(now + 1000);
  reading(a, 0, 10, 5000);
  finalize(10);
  ASSERT_EQ(tokens(a), 5 * kMicroPerToken);
  auto before = snapshot("tokens/");
  // Refused, changing nothing.
  auto rc = run(a.key, kTransfer, encode(TransferPayload{b.pk(), 6 * kMicroPerToken, ""}));
  EXPECT_EQ(rc.code, code(kInsufficientTokens));
  rc = run(a.key, kRedeem, encode(RedeemPayload{kMicroPerToken}));
  EXPECT_EQ(rc.code, code(kPoolInsufficient)) << "the pool is empty";
  EXPECT_EQ(snapshot("tokens/"), before);

  ASSERT_TRUE(
      run(a.key, kTransfer, encode(TransferPayload{b.pk(), 2 * kMicroPerToken, "gift"})).ok());
  EXPECT_EQ(tokens(a), 3 * kMicroPerToken);
  EXPECT_EQ(tokens(b), 2 * kMicroPerToken);
  ASSERT_TRUE(run(sponsor, kFundPool, encode(FundPoolPayload{500'000})).ok());
  EXPECT_EQ(pool_balance(chain->store()), 500'000u);
  before = snapshot("tokens/");
  rc = run(b.key, kRedeem, encode(RedeemPayload{3 * kMicroPerToken}));
  EXPECT_EQ(rc.code, code(kInsufficientTokens));
  rc = run(a.key, kRedeem, encode(RedeemPayload{3 * kMicroPerToken}));  // pays 600,000
  EXPECT_EQ(rc.code, code(kPoolInsufficient));
  rc = run(a.key, kRedeem, encode(RedeemPayload{4}));  // pays 0.8 micro-units
  EXPECT_EQ(rc.code, code(kRedeemTooSmall));
  EXPECT_EQ(snapshot("tokens/"), before);

  uint64_t cash = bank::balance(chain->store(), a.pk());
  ASSERT_TRUE(run(a.key, kRedeem, encode(RedeemPayload{2 * kMicroPerToken})).ok());
  EXPECT_EQ(bank::balance(chain->store(), a.pk()), cash + 400'000);
  EXPECT_EQ(pool_balance(chain->store()), 100'000u);
  EXPECT_EQ(supply(chain->store()).burned, 2 * kMicroPerToken);
  expect_invariants();
  // Only governance drains the pool: two of three members vote a drain_pool action.
  using namespace governance;
  auto drain = [&](uint64_t amount) {
    return governed_action("tokens/drain_pool", DrainPoolAction{sponsor.public_key(), amount});
  };
  auto propose = [&](uint64_t amount) {
    return run(issuer, kPropose, encode(ProposePayload{{drain(amount)}, 10, std::nullopt, ""}));
  };
  EXPECT_EQ(propose(100'001).code, code(kPoolInsufficient)) << "refused when proposed";
  ASSERT_TRUE(propose(100'000).ok());
  uint64_t sponsor_cash = bank::balance(chain->store(), sponsor.public_key());
  ASSERT_TRUE(run(issuer, kVote, encode(VotePayload{0, Choice::kYes})).ok());
  EXPECT_EQ(pool_balance(chain->store()), 100'000u) << "one vote of two";
  ASSERT_TRUE(run(operator_key, kVote, encode(VotePayload{0, Choice::kYes})).ok());
  EXPECT_EQ(pool_balance(chain->store()), 0u);
  EXPECT_EQ(bank::balance(chain->store(), sponsor.public_key()), sponsor_cash + 100'000);
  EXPECT_EQ(pool_totals(chain->store()).drained, 100'000u);
  expect_invariants();
}

TEST_F(TokensTest, BidPaidPartlyInTokens) {
  start({{"redeem_rate", 100'000}});  // 0.1 currency per token
  Party seller = party(), buyer = party(), other = party();
  add_meter(seller, "mg", Source::kPv);
  add_meter(buyer, "mg", Source::kPv);  // the buyer also generates: it earns tokens
  add_meter(buyer, "mg", Source::kConsumer);
  ASSERT_TRUE(
      run(issuer, bank::kMint, bank::encode(bank::MintPayload{buyer.pk(), 10'000'000})).ok());
  ASSERT_TRUE(run(sponsor, kFundPool, encode(FundPoolPayload{1'000'000})).ok());
  tick(now + 1000);
  reading(buyer, 0, 10, 1000);
  finalize(10);
  ASSERT_EQ(tokens(buyer), kMicroPerToken);  // worth 100,000 micro-units

  // Period 13: the seller offers 2000 Wh at 80,000 per kWh; the buyer bids for it.
  ASSERT_TRUE(run(seller.key, market::kOffer,
                  market::encode(
                      market::OfferPayload{"electricity", 13, 2000, 80'000, seller.meters[0].id}))
                  .ok());
  market::BidPayload b;
  b.period = 13;
  b.qty = 2000;
  b.price = 80'000;
  b.meter = buyer.meters[1].id;
  auto bid_tx = chain->sign(buyer.key, market::kBid, market::encode(b));
  ASSERT_TRUE(chain->block({bid_tx}, now += 1000).at(0).ok());
  Hash32 order = bid_tx.id();
  auto before = snapshot("tokens/");
  EXPECT_EQ(run(other.key, kSpendOnBid, encode(SpendOnBidPayload{order, 1})).code,
            code(kNotOwnBid));
  EXPECT_EQ(run(buyer.key, kSpendOnBid, encode(SpendOnBidPayload{order, 2 * kMicroPerToken})).code,
            code(kInsufficientTokens));
  EXPECT_EQ(snapshot("tokens/"), before);
  ASSERT_TRUE(run(buyer.key, kSpendOnBid, encode(SpendOnBidPayload{order, 600'000})).ok());
  EXPECT_EQ(run(buyer.key, kSpendOnBid, encode(SpendOnBidPayload{order, 1})).code,
            code(kAlreadyCommitted));
  EXPECT_EQ(tokens(buyer), 400'000u);
  expect_invariants();

  tick(13 * P + 10);  // cleared at the gate
  reading(seller, 0, 13, 2000);
  tick(14 * P + 10);  // the period has ended; its settlement waits for the buyer's reading
  EXPECT_TRUE(commitment(chain->store(), order));
  uint64_t pool = pool_balance(chain->store());
  // Settled in the reading's block: 2000 Wh x 80,000 / 1000 = 160,000 micro-units of energy.
  reading(buyer, 1, 13, 0, 2000);
  EXPECT_FALSE(commitment(chain->store(), order));
  EXPECT_TRUE(snapshot("tokens/cdue/").empty());  // the period index goes with it
  EXPECT_TRUE(snapshot("tokens/cper/").empty());
  // 600,000 micro-tokens are worth 60,000 micro-units: all burned, the pool pays 60,000.
  EXPECT_EQ(pool_balance(chain->store()), pool - 60'000);
  // The buyer paid 160,000 for its energy and got 60,000 back: net 100,000.
  EXPECT_EQ(bank::balance(chain->store(), buyer.pk()), 10'000'000u - 160'000 + 60'000);
  EXPECT_EQ(supply(chain->store()).burned, 600'000u);
  EXPECT_EQ(tokens(buyer), 400'000u);
  expect_invariants();
}

TEST_F(TokensTest, CancelledBidReturnsItsTokens) {
  start();
  Party buyer = party();
  add_meter(buyer, "mg", Source::kPv);
  add_meter(buyer, "mg", Source::kConsumer);
  ASSERT_TRUE(
      run(issuer, bank::kMint, bank::encode(bank::MintPayload{buyer.pk(), 10'000'000})).ok());
  tick(now + 1000);
  reading(buyer, 0, 10, 1000);
  finalize(10);
  market::BidPayload b;
  b.period = 14;
  b.qty = 1000;
  b.price = 50'000;
  b.meter = buyer.meters[1].id;
  auto bid_tx = chain->sign(buyer.key, market::kBid, market::encode(b));
  ASSERT_TRUE(chain->block({bid_tx}, now += 1000).at(0).ok());
  ASSERT_TRUE(run(buyer.key, kSpendOnBid, encode(SpendOnBidPayload{bid_tx.id(), 700'000})).ok());
  ASSERT_TRUE(
      run(buyer.key, market::kCancel, market::encode(market::CancelPayload{bid_tx.id()})).ok());
  tick(15 * P + 10);
  EXPECT_EQ(tokens(buyer), kMicroPerToken);
  EXPECT_EQ(supply(chain->store()).burned, 0u);
  expect_invariants();
}

}  // namespace
}  // namespace gridpact::tokens::test
