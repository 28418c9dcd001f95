// Ratings of agreements and of market trades; payload encodings; one use per meter.
#include "modules/agreements/testing.hpp"

namespace gridpact::agreements {
namespace {

using namespace test;

TEST_F(AgreementsTest, RatingsNeedASettledPeriodAndAreBayesian) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  Terms t = lease_to_own_template(args(asset, prem));
  uint64_t id = active(t);
  auto before = snapshot();
  EXPECT_EQ(tx(host, kRate, encode(RatePayload{id, 0, 5})).code, code(kNoSettledInteraction));
  EXPECT_EQ(snapshot(), before);
  tick(due(t, 0));
  EXPECT_EQ(tx(host, kRate, encode(RatePayload{id, 0, 0})).code, code(kBadScore));
  EXPECT_EQ(tx(host, kRate, encode(RatePayload{id, 0, 6})).code, code(kBadScore));
  EXPECT_EQ(tx(stranger, kRate, encode(RatePayload{id, 0, 5})).code, code(kNotAParty));
  EXPECT_EQ(tx(host, kRate, encode(RatePayload{id, 1, 5})).code, code(kNoSettledInteraction));
  ASSERT_TRUE(tx(host, kRate, encode(RatePayload{id, 0, 5})).ok());
  EXPECT_EQ(tx(host, kRate, encode(RatePayload{id, 0, 4})).code, code(kAlreadyRated));
  ASSERT_TRUE(tx(owner, kRate, encode(RatePayload{id, 0, 2})).ok());
  // Weight: 100 units settled + 1 = 101, capped at 10 per counterparty, against a prior
  // of 3.0 with weight 10.
  RatingTotals owner_totals = rating_totals(chain->store(), owner.public_key());
  EXPECT_EQ(owner_totals.count, 1u);
  EXPECT_EQ(owner_totals.weight, 10u);
  EXPECT_EQ(rating_milli(owner_totals), (10 * 3000 + 10 * 5 * 1000) / 20);
  EXPECT_EQ(rating_milli(rating_totals(chain->store(), host.public_key())),
            (10 * 3000 + 10 * 2 * 1000) / 20);
  EXPECT_EQ(rating_milli(RatingTotals{}), 3000u);
}

// Two keys of one person, owner and host of a lease-to-own whose instalment goes from one
// to the other, rate each other 5 after every period: together one counterparty's scores
// weigh no more than the prior, so the score stops at 4.0 (uncapped, it reached 4.97).
TEST_F(AgreementsTest, SelfPaidRatingsCannotInflateAScore) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  TemplateArgs a = args(asset, prem);
  a.periods = 6;
  Terms t = lease_to_own_template(a);
  uint64_t id = active(t);
  for (uint32_t k = 0; k < 6; ++k) {
    tick(due(t, k));
    ASSERT_TRUE(tx(host, kRate, encode(RatePayload{id, k, 5})).ok());
    ASSERT_TRUE(tx(owner, kRate, encode(RatePayload{id, k, 5})).ok());
  }
  RatingTotals totals = rating_totals(chain->store(), owner.public_key());
  EXPECT_EQ(totals.count, 6u);
  EXPECT_EQ(totals.weight, kMaxCounterpartyWeight);
  EXPECT_EQ(rating_milli(totals), 4000u);
  EXPECT_EQ(rating_milli(rating_totals(chain->store(), host.public_key())), 4000u);
}

TEST_F(TradeRatingTest, BuyerAndSellerRateEachOtherOnceAfterSettlement) {
  market::OfferPayload offer{"electricity", 12, 50'000, 100'000, seller_meter.id};
  ASSERT_TRUE(tx(seller, market::kOffer, market::encode(offer)).ok());
  market::BidPayload bid;
  bid.period = 12;
  bid.qty = 50'000;
  bid.price = 200'000;
  bid.meter = buyer_meter.id;
  ASSERT_TRUE(tx(buyer, market::kBid, market::encode(bid)).ok());
  tick(12 * P);  // the gate closes: one trade, electricity/12/0
  TradeRef trade{"electricity", 12, 0};
  auto info = market::find_trade(chain->store(), "electricity", 12, 0);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->buyer, buyer.public_key());
  EXPECT_EQ(info->seller, seller.public_key());
  EXPECT_FALSE(info->settled);

  // Cleared but not settled: no rating, nothing changes.
  auto before = snapshot();
  EXPECT_EQ(rate(buyer, trade, 5).code, code(kNoSettledInteraction));
  EXPECT_EQ(rate(seller, trade, 5).code, code(kNoSettledInteraction));
  EXPECT_EQ(snapshot(), before);

  // The period ends; the meters report: 40 kWh delivered of the 50 kWh sold.
  tick(13 * P + 1000);
  reading(seller_meter, 12, 0, 40'000);
  reading(buyer_meter, 12, 50'000, 0);
  tick(now + 1000);
  info = market::find_trade(chain->store(), "electricity", 12, 0);
  ASSERT_TRUE(info);
  ASSERT_TRUE(info->settled);
  // Settled value: the 40 kWh delivered at the trade price.
  EXPECT_EQ(info->settled_micro, 40'000 * static_cast<uint64_t>(info->price) / 1000);
  ASSERT_GT(info->settled_micro, 1'000'000u);

  // Refusals, each with its code and no change.
  before = snapshot();
  EXPECT_EQ(rate(stranger, trade, 5).code, code(kNotAParty));
  EXPECT_EQ(rate(buyer, TradeRef{"electricity", 12, 1}, 5).code, code(kTradeNotFound));
  EXPECT_EQ(rate(buyer, TradeRef{"electricity", 11, 0}, 5).code, code(kTradeNotFound));
  EXPECT_EQ(rate(buyer, TradeRef{"heat", 12, 0}, 5).code, code(kTradeNotFound));
  EXPECT_EQ(rate(buyer, trade, 0).code, code(kBadScore));
  EXPECT_EQ(rate(buyer, trade, 6).code, code(kBadScore));
  EXPECT_EQ(snapshot(), before);

  // The buyer rates the seller, once.
  auto r = rate(buyer, trade, 5);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(rate(buyer, trade, 1).code, code(kAlreadyRated));
  uint64_t weight = std::min(info->settled_micro / 1'000'000 + 1, kMaxCounterpartyWeight);
  RatingTotals seller_totals = rating_totals(chain->store(), seller.public_key());
  EXPECT_EQ(seller_totals.count, 1u);
  EXPECT_EQ(seller_totals.weight, weight);
  EXPECT_EQ(rating_milli(seller_totals), (10 * 3000 + weight * 5 * 1000) / (10 + weight));
  auto stored = find_trade_rating(chain->store(), trade, buyer.public_key());
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->score, 5);
  EXPECT_EQ(stored->ratee, seller.public_key());
  EXPECT_EQ(stored->weight, weight);
  EXPECT_FALSE(find_trade_rating(chain->store(), trade, seller.public_key()));
  // The change log names the trade and the rater (the read model follows it).
  auto log = block_log(chain->store(), *chain->store().height() - 1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].kind, LogKind::kTradeRating);
  EXPECT_EQ(log[0].trade.str(), "electricity/12/0");
  EXPECT_EQ(log[0].rater, buyer.public_key());

  // The seller rates the buyer, once.
  ASSERT_TRUE(rate(seller, trade, 2).ok());
  EXPECT_EQ(rate(seller, trade, 3).code, code(kAlreadyRated));
  RatingTotals buyer_totals = rating_totals(chain->store(), buyer.public_key());
  EXPECT_EQ(buyer_totals.count, 1u);
  EXPECT_EQ(rating_milli(buyer_totals), (10 * 3000 + weight * 2 * 1000) / (10 + weight));
  EXPECT_EQ(rating_totals(chain->store(), seller.public_key()).count, 1u);
  size_t scanned = 0;
  scan_trade_ratings(chain->store(), [&](const TradeRef& t, const PublicKey&, const TradeRating&) {
    EXPECT_EQ(t.str(), trade.str());
    ++scanned;
    return true;
  });
  EXPECT_EQ(scanned, 2u);
}

TEST(TradeRef, ParsesAndPrints) {
  auto t = TradeRef::parse("electricity/1996/3");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->commodity, "electricity");
  EXPECT_EQ(t->period, 1996u);
  EXPECT_EQ(t->index, 3u);
  EXPECT_EQ(t->str(), "electricity/1996/3");
  EXPECT_FALSE(TradeRef::parse("electricity/1996"));
  EXPECT_FALSE(TradeRef::parse("/1/2"));
  EXPECT_FALSE(TradeRef::parse("electricity/x/2"));
  EXPECT_FALSE(TradeRef::parse("electricity/1/2/3"));
  EXPECT_FALSE(TradeRef::parse("a-commodity-name-too-long/1/2"));
}

TEST(AgreementsModuleSchema, HeaderKeyTableMatchesTheDeclaredSchema) {
  AgreementsModule m;
  auto drift =
      testing::schema_drift(m, GRIDPACT_SOURCE_DIR "/src/modules/agreements/agreements.hpp");
  EXPECT_TRUE(drift.empty()) << ::testing::PrintToString(drift);
}

// The payloads' field declarations give byte for byte what the hand-written encoders
// (before codec/fields.hpp) gave, so signed transactions and fuzz corpora stay valid.
TEST(AgreementPayloads, FieldsEncodeAsTheHandWrittenEncoders) {
  TransferAssetPayload t{7, sha256("to")};
  EXPECT_EQ(encode(t), codec::Writer().u64(7).fixed(t.to).take());
  SignPayload s{8, sha256("terms")};
  EXPECT_EQ(encode(s), codec::Writer().u64(8).fixed(s.terms_hash).take());
  EXPECT_EQ(encode(IdPayload{9}), codec::Writer().u64(9).take());
  EXPECT_EQ(encode(RatePayload{1, 2, 3}), codec::Writer().u64(1).u32(2).u8(3).take());
  RateTradePayload r{{"electricity", 1996, 4}, 5};
  EXPECT_EQ(encode(r), codec::Writer().str("electricity", 16).u64(1996).u64(4).u8(5).take());

  AgreementsModule module;
  Transaction tx;
  tx.type = kRateTrade;
  tx.payload = encode(RateTradePayload{{"", 1, 1}, 5});
  EXPECT_EQ(module.check(tx).code, Code::kBadEncoding);
  tx.payload = encode(RateTradePayload{{"electricity", 1, 1}, 6});
  EXPECT_EQ(module.check(tx).code, kBadScore);
  EXPECT_EQ(module.payload_json(kRateTrade, encode(r)),
            (json{{"trade", "electricity/1996/4"}, {"score", 5}}));
  EXPECT_EQ(module.payload_json(kPay, encode(IdPayload{9})), (json{{"agreement", 9}}));
  EXPECT_EQ(module.tx_types().size(), 12u);
}

// A chain of all four modules, each doing its work (transfers, meters and readings, a trade
// cleared and settled, listings, an agreement billed, a trade rated): every receipt event is
// the canonical encoding of a type its module declares, and neither an event nor any value
// in state is JSON text.
TEST_F(TradeRatingTest, ReceiptsAndStateOfEveryModuleCarryNoJsonText) {
  ASSERT_TRUE(
      tx(buyer, bank::kTransfer, bank::encode(bank::TransferPayload{seller.public_key(), 5, "tip"}))
          .ok());
  market::OfferPayload offer{"electricity", 12, 50'000, 100'000, seller_meter.id};
  ASSERT_TRUE(tx(seller, market::kOffer, market::encode(offer)).ok());
  market::BidPayload bid;
  bid.period = 12;
  bid.qty = 50'000;
  bid.price = 200'000;
  bid.meter = buyer_meter.id;
  ASSERT_TRUE(tx(buyer, market::kBid, market::encode(bid)).ok());
  tick(12 * P);
  tick(13 * P + 1000);
  reading(seller_meter, 12, 0, 40'000);
  reading(buyer_meter, 12, 50'000, 0);
  tick(now + 1000);
  ASSERT_TRUE(rate(buyer, TradeRef{"electricity", 12, 0}, 4).ok());

  Asset a;
  a.type = AssetType::kPv;
  a.capacity_w = 5000;
  a.meter = seller_meter.id;
  a.microgrid = "mg-a";
  a.name = "roof";
  ASSERT_TRUE(tx(seller, kRegisterAsset, encode(a)).ok());
  Premises pr;
  pr.area_m2 = 40;
  pr.microgrid = "mg-a";
  pr.name = "home";
  ASSERT_TRUE(tx(buyer, kRegisterPremises, encode(pr)).ok());
  TemplateArgs args;
  args.asset = 1;
  args.premises = 1;
  args.owner = seller.public_key();
  args.host = buyer.public_key();
  args.start_ms = (now / P + 1) * P;
  args.period_ms = P;
  args.periods = 1;
  args.instalment_micro = 1000;
  Terms t = lease_to_own_template(args);
  ASSERT_TRUE(tx(seller, kPropose, encode_terms(t)).ok());
  auto signed_r = tx(buyer, kSign, encode(SignPayload{1, terms_hash(t)}));
  ASSERT_TRUE(signed_r.ok()) << signed_r.message;
  tick(args.start_ms + 10 * P);  // the period is billed at end_block

  std::vector<const Module*> modules = {&bank_module, &meters_module, &market_module, &agreements};
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
       {"bank/transfer", "meters/registered", "meters/reading", "market/offer", "market/bid",
        "market/cleared", "market/settled", "agreements/rated-trade", "agreements/asset",
        "agreements/premises", "agreements/proposed", "agreements/signed", "agreements/billing"})
    EXPECT_TRUE(seen.count(type)) << type << " was not exercised";

  // Every value in state, of every module and of the engine.
  size_t values = 0;
  chain->store().scan("", [&](std::string_view k, std::string_view v) {
    ++values;
    json j = json::parse(v, nullptr, false);
    EXPECT_FALSE(j.is_object() || j.is_array() || j.is_string())
        << "JSON text at " << to_hex(reinterpret_cast<const uint8_t*>(k.data()), k.size());
    return true;
  });
  EXPECT_GT(values, 50u);
}

// One meter, one use at a time (meters.hpp, "Uses"): while a lease bills the export of an
// asset's meter, that meter cannot sell the same periods in the market, nor back a second
// agreement through another asset; after the term (or once the lease ends early) it can.
TEST_F(TradeRatingTest, NoMeteredWhIsPaidTwice) {
  auto asset_on = [&](const std::string& name) {
    Asset a;
    a.type = AssetType::kPv;
    a.capacity_w = 5000;
    a.meter = seller_meter.id;
    a.microgrid = "mg-a";
    a.price_micro_per_kwh = 150'000;
    a.name = name;
    auto r = tx(seller, kRegisterAsset, encode(a));
    EXPECT_TRUE(r.ok()) << r.message;
    return get_u64(chain->store(), "agr/next/asset");
  };
  uint64_t roof = asset_on("roof"), same_meter = asset_on("same meter, another asset");
  Premises prem;
  prem.area_m2 = 40;
  prem.name = "home";
  ASSERT_TRUE(tx(buyer, kRegisterPremises, encode(prem)).ok());
  uint64_t premises = get_u64(chain->store(), "agr/next/prem");
  auto lease = [&](uint64_t asset, uint32_t periods) {
    TemplateArgs a;
    a.asset = asset;
    a.premises = premises;
    a.owner = seller.public_key();
    a.host = buyer.public_key();
    a.start_ms = 12 * P;
    a.period_ms = P;
    a.periods = periods;
    a.price_micro_per_kwh = 200'000;
    a.volume_wh = 1000;
    return lease_template(a);
  };
  auto activate = [&](const Terms& t) {
    auto r = tx(seller, kPropose, encode_terms(t));
    EXPECT_TRUE(r.ok()) << r.message;
    uint64_t id = get_u64(chain->store(), "agr/next/agt");
    return std::pair{id, tx(buyer, kSign, encode(SignPayload{id, terms_hash(t)}))};
  };
  // The lease holds the meter's export for periods 12 and 13.
  auto [first, signed_first] = activate(lease(roof, 2));
  ASSERT_TRUE(signed_first.ok()) << signed_first.message;
  auto offer = [&](uint64_t period) {
    return tx(seller, market::kOffer,
              market::encode(
                  market::OfferPayload{"electricity", period, 1000, 100'000, seller_meter.id}));
  };
  EXPECT_EQ(offer(12).code, static_cast<uint16_t>(meters::kMeterInUse));
  EXPECT_EQ(offer(13).code, static_cast<uint16_t>(meters::kMeterInUse));
  auto [second, signed_second] = activate(lease(same_meter, 2));
  EXPECT_EQ(signed_second.code, static_cast<uint16_t>(meters::kMeterInUse));
  EXPECT_EQ(find_agreement(chain->store(), second)->status, Status8::kProposed);
  // After the term the market may have it; then the lease cannot be extended over it.
  ASSERT_TRUE(offer(14).ok());
  Terms longer = lease(roof, 3);
  ASSERT_TRUE(tx(seller, kAmend, encode(AmendPayload{first, longer})).ok());
  EXPECT_EQ(tx(buyer, kSignAmendment, encode(SignPayload{first, terms_hash(longer)})).code,
            static_cast<uint16_t>(meters::kMeterInUse));
  ASSERT_TRUE(offer(15).ok());
}

}  // namespace
}  // namespace gridpact::agreements
