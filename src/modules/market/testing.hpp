// Test helpers of the market module (target gridpact_market_testing, linked only by tests
// and benchmarks): random books for the clearing property tests and bench_clearing.
#pragma once

#include <random>

#include "modules/market/clearing.hpp"

namespace gridpact::market::gen {

struct GenParams {
  size_t bids = 10;
  size_t offers = 10;
  size_t microgrids = 1;
  size_t accounts = 8;
  double pref_share = 0.0;  // share of bids with preferences
  bool pref_menu = false;   // preferences from a small fixed menu (as an app would offer)
  int64_t price_lo = 50'000, price_hi = 150'000, tick = 1;
  uint64_t qty_lo = 1, qty_hi = 10;
  int64_t fee_max = 0;
  bool negative_offers = false;
  uint64_t seed = 1;
};

inline Book random_book(const GenParams& p) {
  std::mt19937_64 rng(p.seed);
  auto uni = [&](uint64_t lo, uint64_t hi) { return lo + rng() % (hi - lo + 1); };
  auto price = [&](int64_t lo) {
    auto steps = static_cast<uint64_t>((p.price_hi - lo) / p.tick);
    return lo + static_cast<int64_t>(uni(0, steps)) * p.tick;
  };
  Book book;
  std::vector<uint32_t> mg;
  for (size_t i = 0; i < p.microgrids; ++i) mg.push_back(book.microgrid("mg" + std::to_string(i)));
  for (uint32_t a : mg)
    for (uint32_t b : mg)
      book.set_fee(a, b,
                   a == b ? 0 : static_cast<int64_t>(uni(0, static_cast<uint64_t>(p.fee_max))));
  std::vector<uint32_t> acc;
  for (size_t i = 0; i < p.accounts; ++i) acc.push_back(book.account("a" + std::to_string(i)));
  // Each account sits in one microgrid.
  auto mg_of = [&](uint32_t a) { return mg[a % mg.size()]; };
  std::vector<uint32_t> menu;
  if (p.pref_menu) {
    auto add = [&](Preference pr) { menu.push_back(book.preference(std::move(pr))); };
    add({true, kAnySource, {}, {}, {}});
    add({false, (1 << 1) | (1 << 2), {}, {}, {}});                   // pv, wind
    add({false, 1 << 1, {}, {}, {}});                                // pv only
    add({false, kAnySource, {acc[0], acc[1]}, {}, {}});              // two bad sellers
    add({false, kAnySource, {}, {mg[mg.size() - 1]}, {}});           // not the last microgrid
    add({true, kAnySource, {}, {mg[0]}, {}});                        // renewable, not mg0
    add({false, kAnySource, {}, {}, {acc[2]}});                      // a preferred seller
    add({false, (1 << 3) | (1 << 4) | (1 << 5), {acc[3]}, {}, {}});  // hydro/biomass/battery
  }
  size_t total = p.bids + p.offers;
  book.reserve(total);
  size_t bids_left = p.bids, offers_left = p.offers;
  for (size_t i = 0; i < total; ++i) {
    bool bid = uni(1, bids_left + offers_left) <= bids_left;
    (bid ? bids_left : offers_left)--;
    Order o;
    o.side = bid ? Side::kBid : Side::kOffer;
    o.qty_wh = uni(p.qty_lo, p.qty_hi);
    o.account = acc[uni(0, acc.size() - 1)];
    o.microgrid = mg_of(o.account);
    if (bid) {
      o.price = price(p.price_lo);
      if (static_cast<double>(rng() % 1'000'000) < p.pref_share * 1e6) {
        if (p.pref_menu) {
          o.preference = menu[uni(0, menu.size() - 1)];
        } else {
          Preference pr;
          pr.renewable_only = uni(0, 3) == 0;
          if (uni(0, 2) == 0) pr.allowed_sources = static_cast<uint8_t>(uni(0, 63) << 1);
          if (uni(0, 2) == 0) pr.excluded_sellers.push_back(acc[uni(0, acc.size() - 1)]);
          if (uni(0, 3) == 0) pr.excluded_microgrids.push_back(mg[uni(0, mg.size() - 1)]);
          if (uni(0, 3) == 0) pr.preferred_sellers.push_back(acc[uni(0, acc.size() - 1)]);
          o.preference = book.preference(std::move(pr));
        }
      }
    } else {
      o.price = price(p.negative_offers ? -p.price_hi / 4 : p.price_lo);
      o.source = static_cast<Source>(uni(1, 6));
    }
    book.add((bid ? "b" : "o") + std::to_string(i), o);
  }
  return book;
}

}  // namespace gridpact::market::gen
