// Clearing at gate closure (the book of a period cleared by the market's rule) and, in a
// continuous market, matching as orders arrive. The algorithms are clearing.hpp's.
#include <set>

#include "modules/bank/bank.hpp"
#include "modules/market/records.hpp"

namespace gridpact::market {

namespace {

struct Loaded {
  std::vector<Hash32> ids;
  std::vector<OrderRecord> orders;
};

Loaded load_book(const StateReader& s, std::string_view commodity, uint64_t period) {
  Loaded l;
  s.scan(book_prefix(commodity, period), [&](std::string_view, std::string_view v) {
    Hash32 id = Hash32::from_span(reinterpret_cast<const uint8_t*>(v.data()));
    if (auto o = find_order(s, id); o && o->status == OrderStatus::kOpen) {
      l.ids.push_back(id);
      l.orders.push_back(std::move(*o));
    }
    return true;
  });
  return l;
}

// remaining: each order at its unfilled quantity (continuous matching).
Book build_book(const Loaded& l, const Params& p, bool remaining = false) {
  Book book;
  book.reserve(l.orders.size());
  for (const auto& o : l.orders) book.microgrid(o.microgrid);
  for (const auto& [mg, row] : p.config.fees) book.microgrid(mg);
  const auto mgs = book.microgrids();
  for (uint32_t a = 0; a < mgs.size(); ++a)
    for (uint32_t b = 0; b < mgs.size(); ++b) {
      int64_t fee = 0;
      if (a != b && !p.config.fees.empty()) fee = p.config.fees.at(mgs[a]).at(mgs[b]);
      book.set_fee(a, b, fee);
    }
  for (size_t i = 0; i < l.orders.size(); ++i) {
    const OrderRecord& r = l.orders[i];
    Order o;
    o.side = r.side;
    o.qty_wh = remaining ? r.qty - r.filled : r.qty;
    o.price = r.price;
    o.account = book.account(r.owner.view());
    o.microgrid = book.microgrid(r.microgrid);
    if (r.side == Side::kOffer) {
      o.source = static_cast<Source>(r.source);
    } else {
      Preference pr;
      pr.renewable_only = r.renewable_only;
      pr.allowed_sources = r.allowed_sources;
      for (const auto& k : r.excluded_sellers)
        pr.excluded_sellers.push_back(book.account(k.view()));
      for (const auto& m : r.excluded_microgrids)
        pr.excluded_microgrids.push_back(book.microgrid(m));
      for (const auto& k : r.preferred_sellers)
        pr.preferred_sellers.push_back(book.account(k.view()));
      o.preference = book.preference(std::move(pr));
    }
    book.add(l.ids[i].hex(), o);
  }
  return book;
}

std::string trade_count_key(std::string_view c, uint64_t period) {
  return "market/tcount/" + std::string(c) + "/" + hex16(period);
}

// Stores trades under the period's next numbers, with the buyers' index entries.
void append_trades(StateOverlay& s, std::string_view c, uint64_t period,
                   const std::vector<TradeRecord>& trades) {
  if (trades.empty()) return;
  const std::string count_key = trade_count_key(c, period), prefix = trade_prefix(c, period);
  const std::string suffix = "/" + hex16(period) + "/" + std::string(c) + "/";
  uint64_t n = get_u64(s, count_key);
  for (const TradeRecord& r : trades) {
    s.put(prefix + hex16(n), encode_trade(r));
    s.put("market/buyer/" + r.buyer.hex() + suffix + hex16(n), "");
    ++n;
  }
  s.put(count_key, encode_u64(n));
}

TradeRecord trade_record(const Loaded& l, const Trade& t, uint64_t height) {
  const OrderRecord& b = l.orders[t.bid];
  const OrderRecord& o = l.orders[t.offer];
  return {l.ids[t.bid], l.ids[t.offer], b.owner,  o.owner, b.meter, o.meter, b.microgrid,
          o.microgrid,  o.source,       t.qty_wh, t.price, t.fee,   height};
}

}  // namespace

// Continuous mode: the arriving order (the last in time priority) trades at once with the
// resting orders, at their prices (clearing.hpp, clear_continuous).
void match_on_arrival(TxContext& ctx, const Params& p, std::string_view commodity,
                      uint64_t period) {
  StateOverlay& s = ctx.state;
  Loaded all = load_book(s, commodity, period), live;
  for (size_t i = 0; i < all.orders.size(); ++i)
    if (all.orders[i].qty > all.orders[i].filled) {
      live.ids.push_back(all.ids[i]);
      live.orders.push_back(all.orders[i]);
    }
  Clearing c = clear_continuous(build_book(live, p, true));
  uint64_t volume = 0;
  std::set<size_t> touched;
  std::vector<TradeRecord> records;
  records.reserve(c.trades.size());
  for (const Trade& t : c.trades) records.push_back(trade_record(live, t, ctx.block.height));
  append_trades(s, commodity, period, records);
  for (const Trade& t : c.trades) {
    live.orders[t.bid].filled += t.qty_wh;
    live.orders[t.offer].filled += t.qty_wh;
    touched.insert(t.bid);
    touched.insert(t.offer);
    volume += t.qty_wh;
  }
  for (size_t i : touched) put_order(s, live.ids[i], live.orders[i]);
  if (!c.trades.empty()) ctx.events.push_back(make_event(MatchedEvent{c.trades.size(), volume}));
}

void clear_period(BlockContext& ctx, const Params& p, std::string_view commodity, uint64_t period) {
  StateOverlay& s = ctx.state;
  Loaded l = load_book(s, commodity, period);
  // Per order: its record, book entry, count and escrow; per trade (about one an order):
  // two records. Room for them at once, not by doubling the block's table.
  s.reserve_more(8 * l.orders.size());
  Clearing c;
  // Every trade of the period, as (bid, offer, record): those cleared now, and any made as
  // orders arrived (continuous mode, or before a governed change of rule), read back and
  // matched to the book by order id.
  struct Traded {
    size_t bid, offer;
    TradeRecord record;
  };
  std::vector<Traded> trades;
  const bool traded_before = get_u64(s, trade_count_key(commodity, period)) > 0;
  if (p.rule != "continuous") {
    c = clear(build_book(l, p), *parse_rule(p.rule));
    std::vector<TradeRecord> records;
    records.reserve(c.trades.size());
    for (const Trade& t : c.trades) records.push_back(trade_record(l, t, ctx.block.height));
    append_trades(s, commodity, period, records);
    if (!traded_before)
      for (size_t i = 0; i < records.size(); ++i)
        trades.push_back({c.trades[i].bid, c.trades[i].offer, std::move(records[i])});
  }
  if (p.rule == "continuous" || traded_before) {
    std::map<Hash32, size_t> index;
    for (size_t i = 0; i < l.ids.size(); ++i) index[l.ids[i]] = i;
    for (TradeRecord& t : load_trades(s, commodity, period)) {
      auto b = index.find(t.bid), o = index.find(t.offer);
      if (b == index.end() || o == index.end()) continue;  // cannot happen: traded orders stay
      trades.push_back({b->second, o->second, std::move(t)});
    }
  }
  // Per bid, the worst case of what it bought.
  std::vector<uint128> bid_worst(l.orders.size(), 0);
  std::vector<uint64_t> filled(l.orders.size(), 0);
  uint64_t volume = 0;
  for (const auto& [bid, offer, t] : trades) {
    filled[bid] += t.qty;
    filled[offer] += t.qty;
    volume += t.qty;
    bid_worst[bid] += static_cast<uint128>(t.qty) *
                      static_cast<uint64_t>(std::max(t.price + t.fee, p.retail_tariff));
  }
  for (size_t i = 0; i < l.orders.size(); ++i) {
    OrderRecord o = l.orders[i];
    o.status = OrderStatus::kCleared;
    o.filled = filled[i];
    if (o.side == Side::kBid) {
      // Keep in escrow only the worst case of what was bought (never more than locked).
      uint64_t keep = std::min(o.escrow, micro_ceil(bid_worst[i]).value());
      std::string esc = escrow_id(l.ids[i]);
      if (keep == 0) {
        if (o.escrow > 0) (void)bank::refund(s, esc);
      } else if (keep < o.escrow) {
        (void)bank::release(s, esc, o.owner, o.escrow - keep);
      }
      o.escrow = keep;
    }
    put_order(s, l.ids[i], o);
    s.erase(book_prefix(commodity, period) + hex16(o.seq));
    s.erase("market/openn/" + std::string(commodity) + "/" + hex16(period) + "/" + o.owner.hex());
  }
  s.erase("market/openn/" + std::string(commodity) + "/" + hex16(period));
  ClearedSummary summary{std::string(commodity), period,          p.rule,
                         l.orders.size(),        trades.size(),   volume,
                         ctx.block.height,       c.uniform_price, c.note.substr(0, kMaxNote)};
  kCleared.put(s, {std::string(commodity), period}, summary);
  if (!trades.empty())
    s.put("market/unsettled/" + hex16(period) + "/" + std::string(commodity), "");
  ClearedEvent cleared{std::string(commodity), period,          p.rule,
                       l.orders.size(),        trades.size(),   volume,
                       ctx.block.height,       c.uniform_price, c.note.substr(0, kMaxClearingNote)};
  ctx.events.push_back(make_event(cleared));
}

// ---- Settlement -------------------------------------------------------------------------------

}  // namespace gridpact::market
