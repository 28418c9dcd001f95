// The market's orders: offers and bids (one shared opening and placing step), cancels and
// amendments, and their stateless checks.
#include "modules/bank/bank.hpp"
#include "modules/market/records.hpp"

namespace gridpact::market {

Status check_common(const std::string& commodity, uint64_t qty, int64_t price) {
  if (commodity.empty()) return error(kUnknownCommodity, "commodity is empty");
  if (qty == 0) return error(kBadOrder, "quantity must be positive");
  if (qty > kMaxQtyWh) return error(kBadOrder, "quantity above " + std::to_string(kMaxQtyWh));
  if (price < 0 || price > kMaxPrice)
    return error(kBadOrder, "price must be in 0.." + std::to_string(kMaxPrice) + " micro/kWh");
  return ok();
}

namespace {

Status check_gate(const StateReader& s, const Params& p, uint64_t period, uint64_t now_ms) {
  const meters::PeriodSchedule schedule(s);
  uint64_t start = schedule.start_ms(period);
  if (start == UINT64_MAX) return error(kPeriodTooFar, "period out of range");
  uint64_t gate = start > p.gate_closure_ms ? start - p.gate_closure_ms : 0;
  if (now_ms >= gate)
    return error(kGateClosed, "gate of period " + std::to_string(period) + " closed at " +
                                  std::to_string(gate) + " ms");
  if (period > schedule.at(now_ms) + p.max_periods_ahead)
    return error(kPeriodTooFar,
                 "period is more than " + std::to_string(p.max_periods_ahead) + " periods ahead");
  return ok();
}

Status check_commodity(const Params& p, const std::string& c) {
  for (const auto& name : p.config.commodities)
    if (name == c) return ok();
  return error(kUnknownCommodity, "no commodity '" + c + "' in this market");
}

Status check_microgrid(const Params& p, const std::string& mg) {
  if (p.config.fees.empty() || p.config.fees.count(mg)) return ok();
  return error(kUnknownMicrogrid, "microgrid '" + mg + "' is not in the market's fee zones");
}

uint64_t next_seq(StateOverlay& s) {
  uint64_t seq = get_u64(s, "market/seq");
  s.put("market/seq", encode_u64(seq + 1));
  return seq;
}

// Open orders of a book, and of one account in it (erased when the book clears).
std::string open_count_key(std::string_view c, uint64_t period) {
  return "market/openn/" + std::string(c) + "/" + hex16(period);
}
std::string account_count_key(std::string_view c, uint64_t period, const PublicKey& owner) {
  return open_count_key(c, period) + "/" + owner.hex();
}
void count_open(StateOverlay& s, const OrderRecord& o, int delta) {
  for (const std::string& k :
       {open_count_key(o.commodity, o.period), account_count_key(o.commodity, o.period, o.owner)})
    s.put(k, encode_u64(get_u64(s, k) + static_cast<uint64_t>(static_cast<int64_t>(delta))));
}
// BOOK_FULL once the book or the sender's part of it is at its bound.
Status check_room(const StateReader& s, const Params& p, const OrderRecord& o) {
  if (get_u64(s, open_count_key(o.commodity, o.period)) >= p.max_orders_per_book)
    return error(kBookFull, "the book of period " + std::to_string(o.period) + " holds " +
                                std::to_string(p.max_orders_per_book) + " open orders");
  if (get_u64(s, account_count_key(o.commodity, o.period, o.owner)) >= p.max_orders_per_account)
    return error(kBookFull, "you hold " + std::to_string(p.max_orders_per_account) +
                                " open orders in the book of period " + std::to_string(o.period));
  return ok();
}

void index_open(StateOverlay& s, const Hash32& id, const OrderRecord& o) {
  s.put(book_prefix(o.commodity, o.period) + hex16(o.seq), std::string(id.view()));
  s.put(due_key(o.period, o.commodity), "");
}

// The live meter `id`, if `sender` owns it: orders trade only the sender's own meters.
Result<meters::MeterInfo> owned_meter(const StateReader& s, const Hash32& id,
                                      const PublicKey& sender) {
  auto m = meters::find_meter(s, id);
  if (!m) return error(kUnknownMeter, "no meter " + id.hex());
  if (m->owner != sender)
    return error(kMeterNotOwned, "meter " + id.hex() + " belongs to another account");
  if (m->revoked) return error(kUnknownMeter, "meter " + id.hex() + " is revoked");
  return *m;
}

// The fields offers and bids share, from the payload `in` of `owner`'s order on meter `m`.
template <typename Payload>
OrderRecord new_order(Side side, const Payload& in, const PublicKey& owner,
                      const meters::MeterInfo& m) {
  OrderRecord o;
  o.side = side;
  o.commodity = in.commodity;
  o.period = in.period;
  o.qty = in.qty;
  o.price = in.price;
  o.owner = owner;
  o.meter = in.meter;
  o.microgrid = m.microgrid;
  if (side == Side::kOffer) o.source = static_cast<uint8_t>(m.source);
  return o;
}

Result<Params> chain_params(const StateReader& s) {
  if (!kConfig.has(s)) return error(Code::kNotFound, "this chain has no market");
  return load_params(s);
}

// The open order `id` of the sender that it may still cancel or amend.
Result<OrderRecord> changeable_order(TxContext& ctx, const Params& p, const Hash32& id) {
  auto o = find_order(ctx.state, id);
  if (!o) return error(kOrderNotFound, "no order " + id.hex());
  if (o->owner != ctx.tx.sender) return error(kNotOrderOwner, "order belongs to another account");
  if (o->status != OrderStatus::kOpen) return error(kOrderNotOpen, "order is not open");
  if (o->filled > 0) return error(kOrderNotOpen, "order has already traded (continuous market)");
  if (Status st = check_gate(ctx.state, p, o->period, ctx.block.time_ms); !st) return st;
  return *o;
}

// What offers and bids share before their own fields: the market's parameters, the
// commodity, the gate, the sender's live meter (a generating one to offer) and its
// microgrid. Returns the parameters and the new order's common fields.
template <typename Payload>
Result<std::pair<Params, OrderRecord>> open_order(TxContext& ctx, Side side, const Payload& in) {
  StateOverlay& s = ctx.state;
  auto params = chain_params(s);
  if (!params) return params.status();
  const Params& p = *params;
  if (Status st = check_commodity(p, in.commodity); !st) return st;
  if (Status st = check_gate(s, p, in.period, ctx.block.time_ms); !st) return st;
  auto m = owned_meter(s, in.meter, ctx.tx.sender);
  if (!m) return m.status();
  if (side == Side::kOffer && m->source == meters::Source::kConsumer)
    return error(kMeterNotGenerating, "a consumer meter cannot offer energy");
  if (Status st = check_microgrid(p, m->microgrid); !st) return st;
  OrderRecord o = new_order(side, in, ctx.tx.sender, *m);
  if (Status st = check_room(s, p, o); !st) return st;
  return std::pair{std::move(*params), std::move(o)};
}

// ... and after: the order takes the next place in time priority, is stored under its
// transaction's id and indexed in its book; a continuous market matches it at once.
void place_order(TxContext& ctx, const Params& p, OrderRecord& o) {
  o.seq = next_seq(ctx.state);
  put_order(ctx.state, ctx.tx_id, o);
  index_open(ctx.state, ctx.tx_id, o);
  count_open(ctx.state, o, 1);
  if (p.rule == "continuous") match_on_arrival(ctx, p, o.commodity, o.period);
}

}  // namespace

Status MarketModule::on_offer(TxContext& ctx, const OfferPayload& in) {
  auto opened = open_order(ctx, Side::kOffer, in);
  if (!opened) return opened.status();
  auto& [p, o] = opened.value();
  // The meter's export of that period is the market's, not an agreement's (meters.hpp).
  if (o.commodity == kElectricity)
    if (Status st = meters::bind_meter(ctx.state, o.meter, meters::UseKind::kMarket, 0, o.period,
                                       o.period + 1);
        !st)
      return st;
  place_order(ctx, p, o);
  ctx.events.push_back(make_event(OfferEvent{ctx.tx_id, o.period, o.qty, o.price}));
  return ok();
}

Status MarketModule::on_bid(TxContext& ctx, const BidPayload& in) {
  auto opened = open_order(ctx, Side::kBid, in);
  if (!opened) return opened.status();
  auto& [p, o] = opened.value();
  o.renewable_only = in.renewable_only;
  o.allowed_sources = in.allowed_sources;
  o.excluded_sellers = in.excluded_sellers;
  o.excluded_microgrids = in.excluded_microgrids;
  o.preferred_sellers = in.preferred_sellers;
  auto lock = micro_ceil(bid_worst_case_nano(in.qty, in.price, p));
  if (!lock) return lock.status();
  o.escrow = *lock;
  if (Status st = bank::lock(ctx.state, ctx.tx.sender, escrow_id(ctx.tx_id), o.escrow); !st)
    return st;
  place_order(ctx, p, o);
  ctx.events.push_back(make_event(BidEvent{ctx.tx_id, o.period, o.qty, o.price, o.escrow}));
  return ok();
}

Status MarketModule::on_cancel(TxContext& ctx, const CancelPayload& in) {
  StateOverlay& s = ctx.state;
  auto params = chain_params(s);
  if (!params) return params.status();
  const Hash32& id = in.order;
  auto found = changeable_order(ctx, *params, id);
  if (!found) return found.status();
  OrderRecord o = *found;
  if (o.side == Side::kBid) (void)bank::refund(s, escrow_id(id));
  o.status = OrderStatus::kCancelled;
  o.escrow = 0;
  s.erase(book_prefix(o.commodity, o.period) + hex16(o.seq));
  count_open(s, o, -1);
  put_order(s, id, o);
  ctx.events.push_back(make_event(CancelEvent{id}));
  return ok();
}

Status MarketModule::on_amend(TxContext& ctx, const AmendPayload& in) {
  StateOverlay& s = ctx.state;
  auto params = chain_params(s);
  if (!params) return params.status();
  const Params& p = *params;
  const Hash32& id = in.order;
  auto found = changeable_order(ctx, p, id);
  if (!found) return found.status();
  OrderRecord o = *found;
  if (o.side == Side::kBid) {
    // Re-lock the new worst case (the old escrow returns first).
    auto lock = micro_ceil(bid_worst_case_nano(in.qty, in.price, p));
    if (!lock) return lock.status();
    (void)bank::refund(s, escrow_id(id));
    if (Status st = bank::lock(s, ctx.tx.sender, escrow_id(id), *lock); !st) return st;
    o.escrow = *lock;
  }
  // An amendment loses time priority, as on any exchange.
  s.erase(book_prefix(o.commodity, o.period) + hex16(o.seq));
  o.qty = in.qty;
  o.price = in.price;
  o.seq = next_seq(s);
  put_order(s, id, o);
  index_open(s, id, o);
  if (p.rule == "continuous") match_on_arrival(ctx, p, o.commodity, o.period);
  ctx.events.push_back(make_event(AmendEvent{id, o.qty, o.price}));
  return ok();
}

}  // namespace gridpact::market
