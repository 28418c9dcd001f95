// Time to clear one period's book (half bids, half offers), one core:
//   METRIC clear_<n>_orders_s        4 microgrids with wheeling fees, no preferences
//   METRIC clear_<n>_orders_prefs_s  the same with preferences on 30% of the bids
// for n = 10k, 100k, 1M (GRIDPACT_BENCH_QUICK=1: 10k only). Prices are uniform over
// 5..25 ct/kWh on a 0.01 ct tick (100 micro/kWh); quantities 100 Wh..10 kWh; 10,000
// accounts; preferences drawn from a menu of 8 (renewable only, allowed sources, excluded
// sellers, excluded microgrids, preferred seller). The book is built before the clock.
#include <chrono>
#include <cstdio>

#include "bench_util.hpp"
#include "modules/market/clearing.hpp"
#include "modules/market/testing.hpp"

using namespace gridpact;
using namespace gridpact::market;

int main() {
  std::vector<size_t> sizes = {10'000};
  if (!bench::quick()) sizes = {10'000, 100'000, 1'000'000};
  for (size_t n : sizes) {
    for (bool prefs : {false, true}) {
      gen::GenParams p;
      p.seed = n + (prefs ? 1 : 0);
      p.bids = n / 2;
      p.offers = n - n / 2;
      p.microgrids = 4;
      p.accounts = 10'000;
      p.price_lo = 50'000;
      p.price_hi = 250'000;
      p.tick = 100;
      p.qty_lo = 100;
      p.qty_hi = 10'000;
      p.fee_max = 20'000;
      p.pref_share = prefs ? 0.3 : 0.0;
      p.pref_menu = true;
      Book book = gen::random_book(p);
      auto start = std::chrono::steady_clock::now();
      Clearing c = clear(book, PriceRule::kPayAsClear);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      uint64_t energy = 0;
      for (const auto& t : c.trades) energy += t.qty_wh;
      std::fprintf(stderr, "%zu orders%s: %zu trades, %.1f MWh\n", n, prefs ? " (prefs)" : "",
                   c.trades.size(), static_cast<double>(energy) / 1e6);
      bench::metric("clear_" + std::to_string(n) + "_orders" + (prefs ? "_prefs" : "") + "_s", secs,
                    "s");
    }
  }
}
