// Continuous matching: price-time priority in book order (clear_continuous()).
#include <algorithm>
#include <limits>
#include <set>

#include "modules/market/clearing.hpp"

namespace gridpact::market {

namespace {
constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
}  // namespace

Clearing clear_continuous(const Book& book) {
  const auto& orders = book.orders();
  const size_t mgs = book.microgrids().size();
  // Resting orders per microgrid: offers by (price, position), bids by (-price, position).
  std::vector<std::set<std::pair<int64_t, uint32_t>>> offers(mgs), bids(mgs);
  std::vector<uint64_t> left(orders.size());
  Clearing out;
  for (uint32_t i = 0; i < orders.size(); ++i) {
    const Order& o = orders[i];
    left[i] = o.qty_wh;
    while (left[i] > 0) {
      // Best acceptable resting counterpart over all microgrids.
      int64_t best_eff = 0;
      uint32_t best = kNone;
      uint32_t best_mg = 0;
      for (uint32_t m = 0; m < mgs; ++m) {
        if (o.side == Side::kBid) {
          if (!book.has_fee(m, o.microgrid)) continue;
          int64_t f = book.fee(m, o.microgrid);
          for (const auto& [price, j] : offers[m]) {
            if (price + f > o.price) break;
            if (!book.accepts(o, orders[j])) continue;
            int64_t eff = price + f;
            if (best == kNone || eff < best_eff || (eff == best_eff && j < best)) {
              best_eff = eff;
              best = j;
              best_mg = m;
            }
            break;
          }
        } else {
          if (!book.has_fee(o.microgrid, m)) continue;
          int64_t f = book.fee(o.microgrid, m);
          for (const auto& [neg_price, j] : bids[m]) {
            if (-neg_price - f < o.price) break;
            if (!book.accepts(orders[j], o)) continue;
            int64_t eff = -neg_price - f;
            if (best == kNone || eff > best_eff || (eff == best_eff && j < best)) {
              best_eff = eff;
              best = j;
              best_mg = m;
            }
            break;
          }
        }
      }
      if (best == kNone) break;
      uint64_t q = std::min(left[i], left[best]);
      left[i] -= q;
      left[best] -= q;
      if (o.side == Side::kBid) {
        int64_t f = book.fee(best_mg, o.microgrid);
        out.trades.push_back({i, best, q, orders[best].price, f});
        if (left[best] == 0) offers[best_mg].erase({orders[best].price, best});
      } else {
        int64_t f = book.fee(o.microgrid, best_mg);
        out.trades.push_back({best, i, q, orders[best].price - f, f});
        if (left[best] == 0) bids[best_mg].erase({-orders[best].price, best});
      }
    }
    if (left[i] > 0) {
      if (o.side == Side::kBid)
        bids[o.microgrid].insert({-o.price, i});
      else
        offers[o.microgrid].insert({o.price, i});
    }
  }
  return out;
}

}  // namespace gridpact::market
