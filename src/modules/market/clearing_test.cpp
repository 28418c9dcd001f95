// Property tests of the clearing engine: invariants on many random books, and welfare
// equal to an independent exact optimum (brute force on tiny books, LEMON's network
// simplex on the order-level graph for larger ones).
#include <gtest/gtest.h>

#include <lemon/list_graph.h>
#include <lemon/network_simplex.h>
#include <functional>

#include "modules/market/book_json.hpp"
#include "modules/market/clearing.hpp"
#include "modules/market/testing.hpp"

using namespace gridpact;
using namespace gridpact::market;
using gen::GenParams;
using gen::random_book;

namespace {

// The exact optimum welfare (nano) by min-cost flow over every (bid, offer) pair that may
// trade, with LEMON.
int128 lemon_optimum(const Book& book) {
  using namespace lemon;
  ListDigraph g;
  ListDigraph::ArcMap<int64_t> cap(g), cost(g);
  ListDigraph::NodeMap<int64_t> supply(g, 0);
  auto s = g.addNode(), t = g.addNode();
  const auto& orders = book.orders();
  std::vector<ListDigraph::Node> node(orders.size());
  int64_t total = 0;
  for (size_t i = 0; i < orders.size(); ++i) {
    node[i] = g.addNode();
    auto q = static_cast<int64_t>(orders[i].qty_wh);
    if (orders[i].side == Side::kOffer) {
      auto a = g.addArc(s, node[i]);
      cap[a] = q;
      cost[a] = 0;
      total += q;
    } else {
      auto a = g.addArc(node[i], t);
      cap[a] = q;
      cost[a] = 0;
    }
  }
  for (size_t o = 0; o < orders.size(); ++o) {
    if (orders[o].side != Side::kOffer) continue;
    for (size_t b = 0; b < orders.size(); ++b) {
      if (orders[b].side != Side::kBid || !book.can_trade(orders[b], orders[o])) continue;
      auto a = g.addArc(node[o], node[b]);
      cap[a] = static_cast<int64_t>(std::min(orders[o].qty_wh, orders[b].qty_wh));
      cost[a] =
          -(orders[b].price - orders[o].price - book.fee(orders[o].microgrid, orders[b].microgrid));
    }
  }
  auto bypass = g.addArc(s, t);
  cap[bypass] = total;
  cost[bypass] = 0;
  supply[s] = total;
  supply[t] = -total;
  NetworkSimplex<ListDigraph, int64_t, int64_t> ns(g);
  ns.upperMap(cap).costMap(cost).supplyMap(supply);
  using Simplex = NetworkSimplex<ListDigraph, int64_t, int64_t>;
  EXPECT_EQ(ns.run(), Simplex::OPTIMAL);
  return -static_cast<int128>(ns.totalCost<int64_t>());
}

// The exact optimum by enumerating every integer allocation (tiny books only).
int128 brute_force_optimum(const Book& book) {
  const auto& orders = book.orders();
  struct Pair {
    size_t b, o;
    uint64_t max;
    int64_t margin;
  };
  std::vector<Pair> pairs;
  for (size_t b = 0; b < orders.size(); ++b)
    for (size_t o = 0; o < orders.size(); ++o)
      if (orders[b].side == Side::kBid && orders[o].side == Side::kOffer &&
          book.can_trade(orders[b], orders[o]))
        pairs.push_back({b, o, std::min(orders[b].qty_wh, orders[o].qty_wh),
                         orders[b].price - orders[o].price -
                             book.fee(orders[o].microgrid, orders[b].microgrid)});
  std::vector<uint64_t> used(orders.size(), 0);
  int128 best = 0;
  std::function<void(size_t, int128)> go = [&](size_t i, int128 w) {
    if (i == pairs.size()) {
      best = std::max(best, w);
      return;
    }
    const Pair& p = pairs[i];
    uint64_t room = std::min(orders[p.b].qty_wh - used[p.b], orders[p.o].qty_wh - used[p.o]);
    for (uint64_t x = 0; x <= std::min(room, p.max); ++x) {
      used[p.b] += x;
      used[p.o] += x;
      go(i + 1, w + static_cast<int128>(x) * p.margin);
      used[p.b] -= x;
      used[p.o] -= x;
    }
  };
  go(0, 0);
  return best;
}

// Invariants of any clearing: preferences and limit prices hold, nothing overfilled, money
// adds up. Returns the fills per order.
std::vector<uint64_t> check_invariants(const Book& book, const Clearing& c) {
  const auto& orders = book.orders();
  std::vector<uint64_t> filled(orders.size(), 0);
  for (const Trade& t : c.trades) {
    const Order& b = orders.at(t.bid);
    const Order& o = orders.at(t.offer);
    EXPECT_EQ(b.side, Side::kBid);
    EXPECT_EQ(o.side, Side::kOffer);
    EXPECT_GT(t.qty_wh, 0u);
    EXPECT_TRUE(book.accepts(b, o)) << book.ids()[t.bid] << " refuses " << book.ids()[t.offer];
    EXPECT_EQ(t.fee, book.fee(o.microgrid, b.microgrid));
    EXPECT_LE(t.price + t.fee, b.price) << "bid " << book.ids()[t.bid] << " pays above its maximum";
    EXPECT_GE(t.price, o.price) << "offer " << book.ids()[t.offer] << " sells below its minimum";
    // Money: what the buyer pays is what the seller gets plus the fee, exactly.
    int128 q = t.qty_wh;
    EXPECT_TRUE(q * (t.price + t.fee) == q * t.price + q * t.fee);
    filled[t.bid] += t.qty_wh;
    filled[t.offer] += t.qty_wh;
  }
  uint64_t bought = 0, sold = 0;
  for (size_t i = 0; i < orders.size(); ++i) {
    EXPECT_LE(filled[i], orders[i].qty_wh) << "order " << book.ids()[i] << " overfilled";
    (orders[i].side == Side::kBid ? bought : sold) += filled[i];
  }
  EXPECT_EQ(bought, sold);  // energy conserved
  return filled;
}

std::string str(int128 v) {
  bool neg = v < 0;
  uint128 u = neg ? -static_cast<uint128>(v) : static_cast<uint128>(v);
  std::string s;
  do {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  } while (u);
  return neg ? "-" + s : s;
}

// Uniform price P is market-clearing: every filled bid has price >= P, every filled offer
// price <= P, no bid with unfilled quantity bids above P, no offer with unfilled quantity
// asks below P.
void check_clearing_price(const Book& book, const std::vector<uint64_t>& filled, int64_t p) {
  for (size_t i = 0; i < book.orders().size(); ++i) {
    const Order& o = book.orders()[i];
    if (o.side == Side::kBid) {
      if (filled[i] > 0) {
        EXPECT_GE(o.price, p);
      }
      if (filled[i] < o.qty_wh) {
        EXPECT_LE(o.price, p);
      }
    } else {
      if (filled[i] > 0) {
        EXPECT_LE(o.price, p);
      }
      if (filled[i] < o.qty_wh) {
        EXPECT_GE(o.price, p);
      }
    }
  }
}

}  // namespace

TEST(Clearing, HandExample) {
  Book book;
  uint32_t m = book.microgrid("mg0");
  book.set_fee(m, m, 0);
  auto offer = [&](std::string id, uint64_t q, int64_t p) {
    book.add(std::move(id), {Side::kOffer, q, p, book.account("s"), m, Source::kPv, 0});
  };
  auto bid = [&](std::string id, uint64_t q, int64_t p) {
    book.add(std::move(id), {Side::kBid, q, p, book.account("b"), m, Source::kGrid, 0});
  };
  offer("o1", 1000, 100'000);
  offer("o2", 1000, 80'000);
  bid("b1", 1500, 120'000);
  bid("b2", 1000, 90'000);
  ASSERT_TRUE(book.validate());
  // Optimum: b1 takes o2 (1000) and 500 of o1; b2 (90k) cannot pay o1 (100k) and o2 is
  // gone. Welfare = 1000*(120k-80k) + 500*(120k-100k) = 50,000,000.
  auto c = clear(book, PriceRule::kPayAsClear);
  EXPECT_TRUE(welfare_nano(book, c.trades) == 50'000'000);
  ASSERT_TRUE(c.uniform_price.has_value());
  // Interval: lo = max(filled offer 100k, unfilled bid 90k) = 100k; hi = min(filled bid
  // 120k, unfilled offer 100k) = 100k.
  EXPECT_EQ(*c.uniform_price, 100'000);
  auto f = check_invariants(book, c);
  EXPECT_EQ(f[2], 1500u);
  EXPECT_EQ(f[3], 0u);
}

TEST(Clearing, FeesAndPreferencesDecide) {
  Book book;
  uint32_t a = book.microgrid("a"), b = book.microgrid("b");
  book.set_fee(a, a, 0);
  book.set_fee(b, b, 0);
  book.set_fee(a, b, 30'000);
  book.set_fee(b, a, 1'000);
  uint32_t green = book.preference({true, kAnySource, {}, {}, {}});
  // A cheap grid offer in b, a pv offer in a.
  book.add("grid-b", {Side::kOffer, 100, 10'000, book.account("g"), b, Source::kGrid, 0});
  book.add("pv-a", {Side::kOffer, 100, 60'000, book.account("p"), a, Source::kPv, 0});
  // A green buyer in b: can take only pv-a, paying the 30k fee: 100k >= 60k + 30k.
  book.add("green-b", {Side::kBid, 100, 100'000, book.account("x"), b, Source::kGrid, green});
  // A plain buyer in a: grid-b costs 10k + 1k fee.
  book.add("plain-a", {Side::kBid, 100, 70'000, book.account("y"), a, Source::kGrid, 0});
  ASSERT_TRUE(book.validate());
  for (auto rule : {PriceRule::kPayAsBid, PriceRule::kMidpoint, PriceRule::kPayAsClear}) {
    auto c = clear(book, rule);
    check_invariants(book, c);
    // 100*(100k-60k-30k) + 100*(70k-10k-1k) = 1,000,000 + 5,900,000
    EXPECT_TRUE(welfare_nano(book, c.trades) == 6'900'000);
    ASSERT_EQ(c.trades.size(), 2u);
    if (rule == PriceRule::kPayAsClear) {
      EXPECT_FALSE(c.note.empty());
    }
    if (rule == PriceRule::kPayAsBid) {
      for (const auto& t : c.trades) EXPECT_EQ(t.price + t.fee, book.orders()[t.bid].price);
    }
  }
  EXPECT_TRUE(welfare_nano(book, {}) == 0);
  EXPECT_TRUE(lemon_optimum(book) == 6'900'000);
}

TEST(Clearing, TiniesMatchBruteForce) {
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    GenParams p;
    p.seed = seed;
    p.bids = 1 + seed % 3;
    p.offers = 1 + (seed / 3) % 3;
    p.microgrids = 1 + seed % 2;
    p.accounts = 3;
    p.qty_lo = 1;
    p.qty_hi = 3;
    p.price_lo = 0;
    p.price_hi = 20;
    p.fee_max = 5;
    p.pref_share = seed % 4 == 0 ? 0.0 : 0.6;
    p.negative_offers = seed % 5 == 0;
    Book book = random_book(p);
    ASSERT_TRUE(book.validate()) << seed;
    int128 best = brute_force_optimum(book);
    for (auto rule : {PriceRule::kPayAsClear, PriceRule::kPayAsBid, PriceRule::kMidpoint}) {
      auto c = clear(book, rule);
      check_invariants(book, c);
      ASSERT_EQ(str(welfare_nano(book, c.trades)), str(best)) << "seed " << seed << "\n"
                                                              << book_json(book).dump(1);
    }
    ASSERT_EQ(str(lemon_optimum(book)), str(best)) << seed;
  }
}

TEST(Clearing, RandomBooksMatchLemon) {
  int traded = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    GenParams p;
    p.seed = 1000 + seed;
    p.bids = 5 + seed % 60;
    p.offers = 5 + (seed * 7) % 60;
    p.microgrids = 1 + seed % 4;
    p.accounts = 4 + seed % 12;
    p.qty_hi = seed % 3 == 0 ? 5 : 5000;
    p.price_lo = 10'000;
    p.price_hi = 200'000;
    p.tick = seed % 2 ? 1 : 10'000;  // coarse ticks make many exact price ties
    p.fee_max = 40'000;
    p.pref_share = seed % 3 == 0 ? 0.0 : (seed % 3 == 1 ? 0.3 : 0.9);
    p.negative_offers = seed % 7 == 0;
    Book book = random_book(p);
    ASSERT_TRUE(book.validate());
    int128 best = lemon_optimum(book);
    auto c = clear(book, PriceRule::kMidpoint);
    auto filled = check_invariants(book, c);
    ASSERT_EQ(str(welfare_nano(book, c.trades)), str(best)) << "seed " << p.seed;
    // Same book, same result (determinism).
    auto again = clear(book, PriceRule::kMidpoint);
    ASSERT_EQ(again.trades.size(), c.trades.size());
    for (size_t i = 0; i < c.trades.size(); ++i) {
      EXPECT_EQ(again.trades[i].bid, c.trades[i].bid);
      EXPECT_EQ(again.trades[i].offer, c.trades[i].offer);
      EXPECT_EQ(again.trades[i].qty_wh, c.trades[i].qty_wh);
    }
    (void)filled;
    traded += c.trades.empty() ? 0 : 1;
  }
  EXPECT_GT(traded, 250);  // the books are not vacuous
}

TEST(Clearing, PayAsClearPriceIsMarketClearing) {
  int uniform = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    GenParams p;
    p.seed = 5000 + seed;
    p.bids = 1 + seed % 40;
    p.offers = 1 + (seed * 3) % 40;
    p.qty_hi = seed % 2 ? 3 : 2000;
    p.tick = seed % 3 ? 1 : 25'000;
    p.negative_offers = seed % 5 == 0;
    Book book = random_book(p);  // one microgrid, no preferences
    auto c = clear(book, PriceRule::kPayAsClear);
    auto filled = check_invariants(book, c);
    ASSERT_EQ(str(welfare_nano(book, c.trades)), str(lemon_optimum(book)));
    EXPECT_TRUE(c.note.empty());
    if (c.trades.empty()) continue;
    ASSERT_TRUE(c.uniform_price.has_value());
    ++uniform;
    for (const auto& t : c.trades) EXPECT_EQ(t.price, *c.uniform_price);
    check_clearing_price(book, filled, *c.uniform_price);
  }
  EXPECT_GT(uniform, 200);
}

TEST(Clearing, ContinuousPriceTimePriority) {
  Book book;
  uint32_t m = book.microgrid("m");
  book.set_fee(m, m, 0);
  uint32_t s = book.account("s"), b = book.account("b");
  book.add("o-late-cheap", {Side::kOffer, 10, 90, s, m, Source::kPv, 0});
  book.add("o-early", {Side::kOffer, 10, 80, s, m, Source::kWind, 0});
  book.add("o-same", {Side::kOffer, 10, 80, s, m, Source::kPv, 0});
  book.add("b1", {Side::kBid, 15, 100, b, m, Source::kGrid, 0});
  book.add("b2", {Side::kBid, 20, 85, b, m, Source::kGrid, 0});
  book.add("o-hit", {Side::kOffer, 30, 70, s, m, Source::kPv, 0});
  ASSERT_TRUE(book.validate());
  auto c = clear_continuous(book);
  check_invariants(book, c);
  // b1 takes o-early (80, first in time at the best price) then 5 of o-same, at the resting
  // prices. b2 (85) takes the other 5 of o-same at 80, then rests with 15. o-hit (70) sells
  // 15 to b2 at b2's price 85.
  ASSERT_EQ(c.trades.size(), 4u);
  auto expect = [&](size_t i, const char* bid, const char* offer, uint64_t q, int64_t price) {
    EXPECT_EQ(book.ids()[c.trades[i].bid], bid);
    EXPECT_EQ(book.ids()[c.trades[i].offer], offer);
    EXPECT_EQ(c.trades[i].qty_wh, q);
    EXPECT_EQ(c.trades[i].price, price);
  };
  expect(0, "b1", "o-early", 10, 80);
  expect(1, "b1", "o-same", 5, 80);
  expect(2, "b2", "o-same", 5, 80);
  expect(3, "b2", "o-hit", 15, 85);
}

TEST(Clearing, ContinuousInvariantsOnRandomBooks) {
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    GenParams p;
    p.seed = 9000 + seed;
    p.bids = 30;
    p.offers = 30;
    p.microgrids = 3;
    p.fee_max = 30'000;
    p.pref_share = 0.5;
    p.qty_hi = 1000;
    Book book = random_book(p);
    auto c = clear_continuous(book);
    check_invariants(book, c);
    // Never better than the periodic optimum.
    EXPECT_LE(welfare_nano(book, c.trades),
              welfare_nano(book, clear(book, PriceRule::kPayAsBid).trades));
  }
}

TEST(BookJson, ReadsTheFormatDocExampleAndRoundTrips) {
  const char* text = R"({"meta": {"schema": "clearing-book/1"},
 "fees": {"mg0": {"mg0": 0, "mg1": 1500}, "mg1": {"mg0": 2000, "mg1": 0}},
 "orders": [
  {"id": "o0", "side": "offer", "qty_wh": 5000, "price": 90000,
   "account": "a3", "microgrid": "mg1", "source": "pv", "renewable": true},
  {"id": "b0", "side": "bid", "qty_wh": 2000, "price": 150000,
   "account": "a1", "microgrid": "mg0", "renewable_only": true,
   "allowed_sources": ["pv", "wind"], "preferred_sellers": ["a3"],
   "excluded_sellers": ["a9"], "excluded_microgrids": ["mg2"]}]})";
  auto book = parse_book(text);
  ASSERT_TRUE(book) << book.status().to_string();
  auto c = clear(*book, PriceRule::kPayAsBid);
  auto j = trades_json(*book, c);
  ASSERT_EQ(j["trades"].size(), 1u);
  const auto& t = j["trades"][0];
  EXPECT_EQ(t["bid_id"], "b0");
  EXPECT_EQ(t["offer_id"], "o0");
  EXPECT_EQ(t["qty_wh"], 2000);
  EXPECT_EQ(t["fee"], 2000);  // fees[mg1][mg0]
  EXPECT_EQ(t["price"], 148000);
  EXPECT_EQ(t["buyer_pays_nano"], 2000LL * 150000);
  EXPECT_EQ(t["seller_gets_nano"], 2000LL * 148000);
  EXPECT_EQ(t["fee_nano"], 2000LL * 2000);
  // Round trip: the written book reads back to the same clearing.
  auto again = parse_book(book_json(*book).dump());
  ASSERT_TRUE(again) << again.status().to_string();
  EXPECT_EQ(trades_json(*again, clear(*again, PriceRule::kPayAsBid)).dump(), j.dump());
}

TEST(BookJson, RejectsMalformedBooksClearly) {
  auto book_with = [](const std::string& order) {
    return R"({"fees": {"m": {"m": 0}}, "orders": [)" + order + "]}";
  };
  const std::string ok_offer =
      R"({"id": "o", "side": "offer", "qty_wh": 5, "price": 1, "account": "a", "microgrid": "m", "source": "pv"})";
  ASSERT_TRUE(parse_book(book_with(ok_offer)));
  struct Case {
    std::string text;
    std::string says;
  };
  std::vector<Case> cases = {
      {"{", "not valid JSON"},
      {"[]", "must be a JSON object"},
      {R"({"orders": []})", "missing key 'fees'"},
      {R"({"fees": {}, "orders": [], "extra": 1})", "unknown key 'extra'"},
      {book_with(
           R"({"id": "o", "side": "offer", "qty_wh": 0, "price": 1, "account": "a", "microgrid": "m", "source": "pv"})"),
       "qty_wh"},
      {book_with(
           R"({"id": "o", "side": "offer", "qty_wh": 5.5, "price": 1, "account": "a", "microgrid": "m", "source": "pv"})"),
       "qty_wh"},
      {book_with(
           R"({"id": "o", "side": "offer", "qty_wh": "5", "price": 1, "account": "a", "microgrid": "m", "source": "pv"})"),
       "qty_wh"},
      {book_with(
           R"({"id": "o", "side": "offer", "qty_wh": 5, "price": 99999999999, "account": "a", "microgrid": "m", "source": "pv"})"),
       "price"},
      {book_with(
           R"({"id": "o", "side": "offer", "qty_wh": 5, "price": 1, "account": "a", "microgrid": "m", "source": "nuclear"})"),
       "source"},
      {book_with(
           R"({"id": "o", "side": "offer", "qty_wh": 5, "price": 1, "account": "a", "microgrid": "m", "source": "grid", "renewable": true})"),
       "disagrees"},
      {book_with(
           R"({"id": "o", "side": "offer", "qty_wh": 5, "price": 1, "account": "a", "microgrid": "m"})"),
       "missing key 'source'"},
      {book_with(
           R"({"id": "o", "side": "offer", "qty_wh": 5, "prce": 1, "account": "a", "microgrid": "m", "source": "pv"})"),
       "missing key 'price'"},
      {book_with(
           R"({"id": "o", "side": "sell", "qty_wh": 5, "price": 1, "account": "a", "microgrid": "m", "source": "pv"})"),
       "side"},
      {book_with(ok_offer + "," + ok_offer), "duplicate id 'o'"},
      {book_with(
           R"({"id": "b", "side": "bid", "qty_wh": 5, "price": 1, "account": "a", "microgrid": "m", "source": "pv"})"),
       "unknown key 'source' for a bid"},
      {book_with(
           R"({"id": "b", "side": "bid", "qty_wh": 5, "price": 1, "account": "a", "microgrid": "m", "allowed_sources": ["sun"]})"),
       "'sun'"},
      {book_with(
           R"({"id": "b", "side": "bid", "qty_wh": 5, "price": 1, "account": "a", "microgrid": "m", "renewable_only": 1})"),
       "renewable_only"},
      {book_with(
           R"({"id": "b", "side": "bid", "qty_wh": 5, "price": 1, "account": "a", "microgrid": "elsewhere"})"),
       "no fee"},
      {R"({"fees": {"m": {"m": 7}}, "orders": [)" + ok_offer + "]}", "must be 0"},
      {R"({"fees": {"m": {"m": -1}}, "orders": []})", "fees.m.m"},
  };
  for (const auto& c : cases) {
    auto r = parse_book(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.status().message.find(c.says), std::string::npos)
        << "'" << r.status().message << "' should mention '" << c.says << "'";
  }
}

// Large nodes (radix-sorted): welfare equals the classic merge of the sorted bid and offer
// curves (exact for one microgrid without preferences), and fills follow price then time.
TEST(Clearing, LargeBooksFillByPriceThenTime) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    GenParams p;
    p.seed = 777 + seed;
    p.bids = 3000;
    p.offers = 3000;
    p.tick = seed % 2 ? 1 : 5'000;
    p.qty_hi = 2000;
    p.negative_offers = seed == 3;
    Book book = random_book(p);
    auto c = clear(book, PriceRule::kPayAsClear);
    auto filled = check_invariants(book, c);
    const auto& orders = book.orders();
    std::vector<size_t> bids, offers;
    for (size_t i = 0; i < orders.size(); ++i)
      (orders[i].side == Side::kBid ? bids : offers).push_back(i);
    std::sort(bids.begin(), bids.end(), [&](size_t a, size_t b) {
      return orders[a].price != orders[b].price ? orders[a].price > orders[b].price : a < b;
    });
    std::sort(offers.begin(), offers.end(), [&](size_t a, size_t b) {
      return orders[a].price != orders[b].price ? orders[a].price < orders[b].price : a < b;
    });
    // Merge: trade unit blocks while the marginal bid covers the marginal offer.
    int128 best = 0;
    size_t bi = 0, oi = 0;
    uint64_t bu = 0, ou = 0;
    while (bi < bids.size() && oi < offers.size() &&
           orders[bids[bi]].price >= orders[offers[oi]].price) {
      uint64_t q = std::min(orders[bids[bi]].qty_wh - bu, orders[offers[oi]].qty_wh - ou);
      best += static_cast<int128>(q) * (orders[bids[bi]].price - orders[offers[oi]].price);
      if ((bu += q) == orders[bids[bi]].qty_wh) bi++, bu = 0;
      if ((ou += q) == orders[offers[oi]].qty_wh) oi++, ou = 0;
    }
    ASSERT_EQ(str(welfare_nano(book, c.trades)), str(best)) << seed;
    // Priority: an order is filled only if every order ahead of it is filled completely.
    for (const auto* list : {&bids, &offers})
      for (size_t j = 1; j < list->size(); ++j)
        if (filled[(*list)[j]] > 0) {
          ASSERT_EQ(filled[(*list)[j - 1]], orders[(*list)[j - 1]].qty_wh) << seed << " " << j;
        }
    ASSERT_TRUE(c.uniform_price.has_value());
    check_clearing_price(book, filled, *c.uniform_price);
  }
}

TEST(Clearing, PreferredSellersOnlyBreakTies) {
  Book book;
  uint32_t m = book.microgrid("m");
  book.set_fee(m, m, 0);
  uint32_t x = book.account("x"), y = book.account("y");
  uint32_t likes_x = book.preference({false, kAnySource, {}, {}, {x}});
  book.add("oy", {Side::kOffer, 10, 50, y, m, Source::kPv, 0});  // earlier in time
  book.add("ox", {Side::kOffer, 10, 50, x, m, Source::kPv, 0});
  book.add("o-dear", {Side::kOffer, 10, 95, x, m, Source::kPv, 0});
  book.add("b-likes-x", {Side::kBid, 10, 100, book.account("a"), m, Source::kGrid, likes_x});
  book.add("b-plain", {Side::kBid, 10, 100, book.account("b"), m, Source::kGrid, 0});
  ASSERT_TRUE(book.validate());
  auto c = clear(book, PriceRule::kPayAsBid);
  check_invariants(book, c);
  EXPECT_TRUE(welfare_nano(book, c.trades) == lemon_optimum(book));
  ASSERT_EQ(c.trades.size(), 2u);
  for (const auto& t : c.trades) {
    // The hint chose the partner, not which offers sold: the dear offer of x stays unsold.
    std::string want = book.ids()[t.bid] == "b-likes-x" ? "ox" : "oy";
    EXPECT_EQ(book.ids()[t.offer], want) << book.ids()[t.bid];
  }
  // Without the hint, time priority pairs the first bid with the first offer.
  Book plain;
  uint32_t pm = plain.microgrid("m");
  plain.set_fee(pm, pm, 0);
  plain.add("oy", {Side::kOffer, 10, 50, plain.account("y"), pm, Source::kPv, 0});
  plain.add("ox", {Side::kOffer, 10, 50, plain.account("x"), pm, Source::kPv, 0});
  plain.add("b1", {Side::kBid, 10, 100, plain.account("a"), pm, Source::kGrid, 0});
  plain.add("b2", {Side::kBid, 10, 100, plain.account("b"), pm, Source::kGrid, 0});
  auto pc = clear(plain, PriceRule::kPayAsBid);
  ASSERT_EQ(pc.trades.size(), 2u);
  EXPECT_EQ(plain.ids()[pc.trades[0].bid], "b1");
  EXPECT_EQ(plain.ids()[pc.trades[0].offer], "oy");
}
