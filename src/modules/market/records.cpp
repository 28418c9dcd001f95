// The market module's records: codecs of orders and trades, their JSON views, and the
// lookups other modules use (find_order, find_trade, find_settlement).
#include "modules/market/records.hpp"

#include "codec/codec.hpp"

namespace gridpact::market {

void encode_value(codec::Writer& w, const MarketConfig& c) {
  w.count(c.commodities.size(), kMaxCommodities);
  for (const auto& name : c.commodities) w.str(name, kMaxCommodity);
  w.count(c.fees.size(), kMaxFeeZones);
  for (const auto& [from, row] : c.fees) {
    w.str(from, kMaxMicrogrid).count(row.size(), kMaxFeeZones);
    for (const auto& [to, fee] : row) w.str(to, kMaxMicrogrid).i64(fee);
  }
}
void decode_value(codec::Reader& r, MarketConfig& c) {
  c.commodities.resize(r.count(kMaxCommodities));
  for (auto& name : c.commodities) name = r.str(kMaxCommodity);
  size_t rows = r.count(kMaxFeeZones);
  for (size_t i = 0; i < rows; ++i) {
    auto& row = c.fees[r.str(kMaxMicrogrid)];
    size_t n = r.count(kMaxFeeZones);
    for (size_t k = 0; k < n; ++k) {
      std::string to = r.str(kMaxMicrogrid);
      row[to] = r.i64();
    }
  }
}
void encode_value(codec::Writer& w, const ClearedSummary& c) {
  w.str(c.commodity, kMaxCommodity).u64(c.period).str(c.rule, kMaxParamText);
  w.u64(c.orders).u64(c.trades).u64(c.volume_wh).u64(c.height);
  w.boolean(c.clearing_price.has_value());
  if (c.clearing_price) w.i64(*c.clearing_price);
  w.str(c.note, kMaxNote);
}
void decode_value(codec::Reader& r, ClearedSummary& c) {
  c.commodity = r.str(kMaxCommodity);
  c.period = r.u64();
  c.rule = r.str(kMaxParamText);
  c.orders = r.u64();
  c.trades = r.u64();
  c.volume_wh = r.u64();
  c.height = r.u64();
  if (r.boolean()) c.clearing_price = r.i64();
  c.note = r.str(kMaxNote);
}
void encode_value(codec::Writer& w, const Statement& s) {
  for (uint64_t v :
       {s.bought_wh, s.sold_wh, s.delivered_wh, s.received_wh, s.grid_wh, s.spilled_wh, s.paid,
        s.received, s.fees, s.tax, s.feed_in_paid, s.feed_in_unpaid, s.refunded})
    w.u64(v);
  w.boolean(s.missing_reading).u64(s.settled_height);
}
void decode_value(codec::Reader& r, Statement& s) {
  for (uint64_t* v :
       {&s.bought_wh, &s.sold_wh, &s.delivered_wh, &s.received_wh, &s.grid_wh, &s.spilled_wh,
        &s.paid, &s.received, &s.fees, &s.tax, &s.feed_in_paid, &s.feed_in_unpaid, &s.refunded})
    *v = r.u64();
  s.missing_reading = r.boolean();
  s.settled_height = r.u64();
}

namespace {

void write_keys(codec::Writer& w, const std::vector<PublicKey>& v) {
  w.count(v.size(), kMaxPrefList);
  for (const auto& k : v) w.fixed(k);
}
std::vector<PublicKey> read_keys(codec::Reader& r) {
  std::vector<PublicKey> v(r.count(kMaxPrefList));
  for (auto& k : v) k = r.fixed<32>();
  return v;
}
void write_names(codec::Writer& w, const std::vector<std::string>& v) {
  w.count(v.size(), kMaxPrefList);
  for (const auto& s : v) w.str(s, kMaxMicrogrid);
}
std::vector<std::string> read_names(codec::Reader& r) {
  std::vector<std::string> v(r.count(kMaxPrefList));
  for (auto& s : v) s = r.str(kMaxMicrogrid);
  return v;
}

}  // namespace

std::string encode_order(const OrderRecord& o) {
  codec::Writer w;
  w.reserve(192);  // the fixed fields and a microgrid name; lists are short
  w.u8(static_cast<uint8_t>(o.side)).str(o.commodity, kMaxCommodity).u64(o.period).u64(o.qty);
  w.i64(o.price).fixed(o.owner).fixed(o.meter).str(o.microgrid, kMaxMicrogrid).u8(o.source);
  w.u8(static_cast<uint8_t>(o.status)).u64(o.seq).u64(o.filled).u64(o.escrow);
  w.boolean(o.renewable_only).u8(o.allowed_sources);
  write_keys(w, o.excluded_sellers);
  write_names(w, o.excluded_microgrids);
  write_keys(w, o.preferred_sellers);
  const Bytes& b = w.data();
  return std::string(b.begin(), b.end());
}

std::optional<OrderRecord> decode_order(std::string_view s) {
  try {
    codec::Reader r(s);
    OrderRecord o;
    o.side = static_cast<Side>(r.u8());
    o.commodity = r.str(kMaxCommodity);
    o.period = r.u64();
    o.qty = r.u64();
    o.price = r.i64();
    o.owner = r.fixed<32>();
    o.meter = r.fixed<32>();
    o.microgrid = r.str(kMaxMicrogrid);
    o.source = r.u8();
    o.status = static_cast<OrderStatus>(r.u8());
    o.seq = r.u64();
    o.filled = r.u64();
    o.escrow = r.u64();
    o.renewable_only = r.boolean();
    o.allowed_sources = r.u8();
    o.excluded_sellers = read_keys(r);
    o.excluded_microgrids = read_names(r);
    o.preferred_sellers = read_keys(r);
    r.expect_end();
    return o;
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::string encode_trade(const TradeRecord& t) {
  codec::Writer w;
  w.reserve(320);  // six keys, two microgrid names, the numbers
  w.fixed(t.bid).fixed(t.offer).fixed(t.buyer).fixed(t.seller).fixed(t.buyer_meter);
  w.fixed(t.seller_meter)
      .str(t.buyer_microgrid, kMaxMicrogrid)
      .str(t.seller_microgrid, kMaxMicrogrid);
  w.u8(t.source).u64(t.qty).i64(t.price).i64(t.fee).u64(t.height);
  const Bytes& b = w.data();
  return std::string(b.begin(), b.end());
}

TradeRecord decode_trade(std::string_view s) {
  codec::Reader r(s);
  TradeRecord t;
  t.bid = r.fixed<32>();
  t.offer = r.fixed<32>();
  t.buyer = r.fixed<32>();
  t.seller = r.fixed<32>();
  t.buyer_meter = r.fixed<32>();
  t.seller_meter = r.fixed<32>();
  t.buyer_microgrid = r.str(kMaxMicrogrid);
  t.seller_microgrid = r.str(kMaxMicrogrid);
  t.source = r.u8();
  t.qty = r.u64();
  t.price = r.i64();
  t.fee = r.i64();
  t.height = r.u64();
  return t;
}

json trade_json(const TradeRecord& t) {
  return {{"bid", t.bid.hex()},
          {"offer", t.offer.hex()},
          {"buyer", t.buyer.hex()},
          {"seller", t.seller.hex()},
          {"buyer_meter", t.buyer_meter.hex()},
          {"seller_meter", t.seller_meter.hex()},
          {"buyer_microgrid", t.buyer_microgrid},
          {"seller_microgrid", t.seller_microgrid},
          {"source", source_name(static_cast<Source>(t.source))},
          {"qty_wh", t.qty},
          {"price", t.price},
          {"fee", t.fee},
          {"cleared_height", t.height}};
}

json order_json(const Hash32& id, const OrderRecord& o) {
  static const char* status[] = {"open", "cleared", "cancelled"};
  json j = {{"id", id.hex()},
            {"side", o.side == Side::kBid ? "bid" : "offer"},
            {"commodity", o.commodity},
            {"period", o.period},
            {"qty", o.qty},
            {"price", o.price},
            {"owner", o.owner.hex()},
            {"meter", o.meter.hex()},
            {"microgrid", o.microgrid},
            {"status", status[static_cast<int>(o.status)]},
            {"filled", o.filled}};
  if (o.side == Side::kOffer) {
    j["source"] = source_name(static_cast<Source>(o.source));
  } else {
    j["escrow"] = o.escrow;
    j["renewable_only"] = o.renewable_only;
    json allowed = json::array();
    for (int s = 1; s <= 6; ++s)
      if ((o.allowed_sources >> s) & 1) allowed.push_back(source_name(static_cast<Source>(s)));
    j["allowed_sources"] = allowed;
    json ex = json::array(), pref = json::array();
    for (const auto& k : o.excluded_sellers) ex.push_back(k.hex());
    for (const auto& k : o.preferred_sellers) pref.push_back(k.hex());
    j["excluded_sellers"] = ex;
    j["excluded_microgrids"] = o.excluded_microgrids;
    j["preferred_sellers"] = pref;
  }
  return j;
}

void put_order(StateOverlay& s, const Hash32& id, const OrderRecord& o) {
  s.put(order_key(id), encode_order(o));
}

std::vector<TradeRecord> load_trades(const StateReader& s, std::string_view c, uint64_t period) {
  std::vector<TradeRecord> out;
  s.scan(trade_prefix(c, period), [&](std::string_view, std::string_view v) {
    out.push_back(decode_trade(v));
    return true;
  });
  return out;
}

// ---- Public -----------------------------------------------------------------------------------

Bytes encode(const OfferPayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const BidPayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const CancelPayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const AmendPayload& p) {
  return codec::encode_fields(p);
}
Result<OfferPayload> decode_offer(const Bytes& b) {
  return codec::decode_fields<OfferPayload>(b);
}
Result<BidPayload> decode_bid(const Bytes& b) {
  return codec::decode_fields<BidPayload>(b);
}
Result<CancelPayload> decode_cancel(const Bytes& b) {
  return codec::decode_fields<CancelPayload>(b);
}
Result<AmendPayload> decode_amend(const Bytes& b) {
  return codec::decode_fields<AmendPayload>(b);
}

std::optional<OrderRecord> find_order(const StateReader& s, const Hash32& id) {
  auto v = s.get(order_key(id));
  if (!v) return std::nullopt;
  return decode_order(*v);
}

std::optional<TradeInfo> find_trade(const StateReader& s, std::string_view commodity,
                                    uint64_t period, uint64_t index) {
  if (commodity.empty() || commodity.size() > kMaxCommodity) return std::nullopt;
  auto v = s.get(trade_prefix(commodity, period) + hex16(index));
  if (!v) return std::nullopt;
  TradeInfo out;
  try {
    TradeRecord t = decode_trade(*v);
    out.buyer = t.buyer;
    out.seller = t.seller;
    out.qty_wh = t.qty;
    out.price = t.price;
  } catch (const Error&) {
    return std::nullopt;
  }
  if (auto settled = s.get(trade_settled_key(commodity, period, index))) {
    out.settled = true;
    out.settled_micro = decode_u64(*settled).value_or(0);
  }
  return out;
}

std::optional<SettlementInfo> find_settlement(const StateReader& s, std::string_view commodity,
                                              uint64_t period, const PublicKey& account) {
  if (commodity.empty() || commodity.size() > kMaxCommodity) return std::nullopt;
  std::optional<Statement> st;
  try {
    st = kStatements.get(s, {std::string(commodity), period, account});
  } catch (const Error&) {
    return std::nullopt;
  }
  if (!st) return std::nullopt;
  return SettlementInfo{st->bought_wh,  st->sold_wh, st->delivered_wh, st->received_wh, st->grid_wh,
                        st->spilled_wh, st->paid,    st->received,     st->fees,        st->tax};
}

}  // namespace gridpact::market
