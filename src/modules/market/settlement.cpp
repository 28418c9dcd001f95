// Settlement of a cleared period: delivered energy from the meters, payments out of the
// bids' escrow, tax, fees, feed-in for spilled energy, and one statement per account.
#include <algorithm>

#include "modules/bank/bank.hpp"
#include "modules/market/records.hpp"

namespace gridpact::market {

namespace {

// Shares `available` over `wanted` quantities: all when enough, else pro rata by largest
// remainder: each gets the floor of its exact share, and the Wh left over (fewer than the
// number of shares) go one each to the largest fractional parts, ties to the earlier
// trade. So the shares add up to `available` exactly: every metered Wh is counted once.
std::vector<uint64_t> share(const std::vector<uint64_t>& wanted, uint64_t available) {
  uint128 total = 0;
  for (uint64_t w : wanted) total += w;
  if (total <= available) return wanted;
  std::vector<uint64_t> out(wanted.size());
  std::vector<uint128> remainder(wanted.size());
  uint64_t given = 0;
  for (size_t i = 0; i < wanted.size(); ++i) {
    uint128 exact = static_cast<uint128>(wanted[i]) * available;
    out[i] = static_cast<uint64_t>(exact / total);
    remainder[i] = exact % total;
    given += out[i];
  }
  std::vector<size_t> order(wanted.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return remainder[a] > remainder[b]; });
  for (size_t j = 0; j < order.size() && given < available; ++j, ++given) out[order[j]]++;
  return out;
}

// The number of the first trade from `from` on whose seller's or buyer's reading for the
// period is not in, if any.
std::optional<uint64_t> first_unread(const StateReader& s, std::string_view c, uint64_t period,
                                     uint64_t from) {
  const std::string prefix = trade_prefix(c, period);
  for (uint64_t n = from;; ++n) {
    auto v = s.get(prefix + hex16(n));
    if (!v) return std::nullopt;  // past the last trade
    TradeRecord t = decode_trade(*v);
    if (!meters::period_energy(s, t.seller_meter, period) ||
        !meters::period_energy(s, t.buyer_meter, period))
      return n;
  }
}

}  // namespace

std::string ReadingHints::key(std::string_view commodity, uint64_t period) {
  return hex16(period) + "/" + std::string(commodity);
}

uint64_t ReadingHints::first_trade(std::string_view commodity, uint64_t period) const {
  std::lock_guard lock(mutex_);
  auto it = first_.find(key(commodity, period));
  return it == first_.end() ? 0 : it->second;
}

void ReadingHints::remember(std::string_view commodity, uint64_t period, uint64_t trade) {
  std::lock_guard lock(mutex_);
  if (first_.size() >= kMaxBooks) first_.clear();
  first_[key(commodity, period)] = trade;
}

void ReadingHints::forget(std::string_view commodity, uint64_t period) {
  std::lock_guard lock(mutex_);
  first_.erase(key(commodity, period));
}

bool settle_period(BlockContext& ctx, const Params& p, const meters::PeriodSchedule& schedule,
                   std::string_view commodity, uint64_t period, ReadingHints& hints) {
  StateOverlay& s = ctx.state;
  uint64_t end = schedule.end_ms(period);
  if (ctx.block.time_ms < end) return false;
  bool deadline = ctx.block.time_ms >= end + p.settlement_deadline_ms;
  bool metered = commodity == kElectricity;
  // Before the deadline, a book waits while any reading is out: first the one that was out
  // when last looked, then the trades after it.
  if (metered && !deadline)
    if (auto unread = first_unread(s, commodity, period, hints.first_trade(commodity, period))) {
      hints.remember(commodity, period, *unread);
      return false;
    }
  auto trades = load_trades(s, commodity, period);
  // Meter energy per meter (nullopt: missing).
  std::map<Hash32, std::optional<meters::PeriodEnergy>> energy;
  bool all_in = true;
  if (metered) {
    for (const auto& t : trades)
      for (const Hash32& m : {t.seller_meter, t.buyer_meter})
        if (!energy.count(m)) {
          energy[m] = meters::period_energy(s, m, period);
          all_in = all_in && energy[m].has_value();
        }
    // Settling now, or a reading before the hint is out: either way, no hint from here.
    hints.forget(commodity, period);
    if (!all_in && !deadline) return false;
  }
  // Delivered shares per trade.
  std::vector<uint64_t> delivered(trades.size()), taken(trades.size());
  for (int side = 0; side < 2 && metered; ++side) {
    std::map<Hash32, std::vector<size_t>> by_meter;
    for (size_t i = 0; i < trades.size(); ++i)
      by_meter[side == 0 ? trades[i].seller_meter : trades[i].buyer_meter].push_back(i);
    for (const auto& [m, idx] : by_meter) {
      std::vector<uint64_t> wanted;
      for (size_t i : idx) wanted.push_back(trades[i].qty);
      const auto& e = energy[m];
      std::vector<uint64_t> got;
      if (e)
        got = share(wanted, side == 0 ? e->export_wh : e->import_wh);
      else
        got = side == 0 ? std::vector<uint64_t>(wanted.size(), 0) : wanted;  // see header
      for (size_t j = 0; j < idx.size(); ++j) (side == 0 ? delivered : taken)[idx[j]] = got[j];
    }
  }
  if (!metered)
    for (size_t i = 0; i < trades.size(); ++i) delivered[i] = taken[i] = trades[i].qty;

  std::map<PublicKey, Statement> st;
  // Per bid: nano owed in total; per trade the seller's and tax account's floor shares.
  std::map<Hash32, uint128> bid_nano;
  std::map<Hash32, uint64_t> bid_given;  // micro paid out to sellers/tax for this bid
  std::map<Hash32, PublicKey> bid_owner;
  for (size_t i = 0; i < trades.size(); ++i) {
    const TradeRecord& t = trades[i];
    uint64_t e = std::min(delivered[i], taken[i]);
    uint64_t grid = taken[i] - e, spilled = delivered[i] - e;
    uint128 value = static_cast<uint128>(e) * static_cast<uint64_t>(t.price);
    uint128 tax = value * p.tax_ppm / 1'000'000;
    uint128 owed = value + static_cast<uint128>(e) * static_cast<uint64_t>(t.fee) +
                   static_cast<uint128>(grid) * static_cast<uint64_t>(p.retail_tariff);
    bid_nano[t.bid] += owed;
    bid_owner[t.bid] = t.buyer;
    // Trades are numbered in scan order (hex keys), so i is the trade's number.
    s.put(trade_settled_key(commodity, period, i),
          encode_u64(static_cast<uint64_t>(std::min<uint128>(value / 1000, UINT64_MAX))));
    auto seller_micro = static_cast<uint64_t>((value - tax) / 1000);
    auto tax_micro = static_cast<uint64_t>(tax / 1000);
    std::string esc = escrow_id(t.bid);
    if (seller_micro > 0) (void)bank::release(s, esc, t.seller, seller_micro);
    if (tax_micro > 0) (void)bank::release(s, esc, *p.tax_account, tax_micro);
    bid_given[t.bid] += seller_micro + tax_micro;
    auto& buyer = st[t.buyer];
    auto& seller = st[t.seller];
    buyer.bought_wh += t.qty;
    buyer.received_wh += taken[i];
    buyer.grid_wh += grid;
    seller.sold_wh += t.qty;
    seller.delivered_wh += delivered[i];
    seller.spilled_wh += spilled;
    seller.received += seller_micro;
    seller.tax += tax_micro;
    if (metered) {
      buyer.missing_reading = buyer.missing_reading || !energy[t.buyer_meter];
      seller.missing_reading = seller.missing_reading || !energy[t.seller_meter];
    }
    // Spilled energy: the operator buys it at the feed-in tariff, if it can pay.
    auto feed_in = static_cast<uint64_t>(static_cast<uint128>(spilled) *
                                         static_cast<uint64_t>(p.feed_in_tariff) / 1000);
    if (feed_in > 0) {
      if (t.seller != p.operator_account &&
          bank::transfer(s, p.operator_account, t.seller, feed_in)) {
        seller.feed_in_paid += feed_in;
        seller.received += feed_in;
      } else {
        seller.feed_in_unpaid += feed_in;
      }
    }
  }
  // Buyers pay ceil(owed) in total; the operator gets what sellers and tax did not.
  for (const auto& [bid, nano] : bid_nano) {
    std::string esc = escrow_id(bid);
    uint64_t pay = micro_ceil(nano).value();
    auto e = bank::escrow(s, esc);
    uint64_t held = e ? e->amount : 0;
    uint64_t given = bid_given[bid];
    pay = std::min(pay, held + given);  // the escrow holds the worst case: never binds
    uint64_t to_operator = pay - given;
    if (to_operator > 0) (void)bank::release(s, esc, p.operator_account, to_operator);
    auto& buyer = st[bid_owner[bid]];
    buyer.paid += pay;
    buyer.fees += to_operator;
    if (bank::escrow(s, esc)) {
      buyer.refunded += bank::escrow(s, esc)->amount;
      (void)bank::refund(s, esc);
    }
    if (auto o = find_order(s, bid)) {
      o->escrow = 0;
      put_order(s, bid, *o);
    }
  }
  for (auto& [who, statement] : st) {
    statement.settled_height = ctx.block.height;
    kStatements.put(s, {std::string(commodity), period, who}, statement);
  }
  ctx.events.push_back(
      make_event(SettledEvent{std::string(commodity), period, trades.size(), !all_in}));
  return true;
}

}  // namespace gridpact::market
