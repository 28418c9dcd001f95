#include "modules/market/market.hpp"

#include <cstdio>
#include <map>
#include <mutex>
#include <set>

#include "codec/codec.hpp"
#include "ledger/collections.hpp"
#include "modules/bank/bank.hpp"
#include "modules/meters/meters.hpp"

namespace gridpact::market {

void register_market_codes() {
  register_codes(kMarketCodes);
}

namespace {

// ---- Schema: records and collections ------------------------------------------------------
// (the header's key table lists them; market_test checks the two against each other)

// The market's shape, fixed at genesis.
struct MarketConfig {
  std::vector<std::string> commodities;
  std::map<std::string, std::map<std::string, int64_t>> fees;  // [seller mg][buyer mg]
};
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

// What the gate did to one book.
struct ClearedSummary {
  std::string commodity;
  uint64_t period = 0;
  std::string rule;
  uint64_t orders = 0, trades = 0, volume_wh = 0, height = 0;
  std::optional<int64_t> clearing_price;  // uniform-price rules
  std::string note;                       // what was done when the rule did not apply
  json to_json() const {
    json j = {{"commodity", commodity}, {"period", period}, {"rule", rule},
              {"orders", orders},       {"trades", trades}, {"volume_wh", volume_wh},
              {"height", height}};
    if (clearing_price) j["clearing_price"] = *clearing_price;
    if (!note.empty()) j["note"] = note;
    return j;
  }
};
constexpr size_t kMaxNote = 1024;
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

// One account's settlement of one period.
struct Statement {
  uint64_t bought_wh = 0, sold_wh = 0, delivered_wh = 0, received_wh = 0, grid_wh = 0,
           spilled_wh = 0;
  uint64_t paid = 0, received = 0, fees = 0, tax = 0, feed_in_paid = 0, feed_in_unpaid = 0;
  uint64_t refunded = 0;
  bool missing_reading = false;
  uint64_t settled_height = 0;
  json to_json() const {
    return {{"bought_wh", bought_wh},
            {"sold_wh", sold_wh},
            {"delivered_wh", delivered_wh},
            {"received_wh", received_wh},
            {"grid_wh", grid_wh},
            {"spilled_wh", spilled_wh},
            {"paid", paid},
            {"received", received},
            {"fees", fees},
            {"tax", tax},
            {"feed_in_paid", feed_in_paid},
            {"feed_in_unpaid", feed_in_unpaid},
            {"refunded", refunded},
            {"missing_reading", missing_reading},
            {"settled_height", settled_height}};
  }
};
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

using BookKey = std::pair<std::string, uint64_t>;                   // commodity, period
using StatementKey = std::tuple<std::string, uint64_t, PublicKey>;  // ..., account
const state::Item<MarketConfig> kConfig("market/config");
const state::Map<BookKey, ClearedSummary> kCleared("market/cleared/");
const state::Map<StatementKey, Statement> kStatements("market/statement/");

// ---- Parameters -------------------------------------------------------------------------

// The parameters a governance change may alter (ledger/params.hpp); commodities and the
// fee matrix are the market's shape, fixed at genesis (MarketConfig).
std::vector<ParamSpec> market_params() {
  return {
      ParamSpec::text("market.rule", "pay-as-clear",
                      {"pay-as-clear", "pay-as-bid", "midpoint", "continuous"},
                      "clearing rule at gate closure, or continuous matching"),
      ParamSpec::u64("market.gate_closure_ms", 0, 0, 86'400'000,
                     "orders for a period close this long before it starts"),
      ParamSpec::u64("market.settlement_deadline_ms", 3'600'000, 0, 30 * 86'400'000ull,
                     "after a period ends, how long settlement waits for readings"),
      ParamSpec::u64("market.max_periods_ahead", 672, 0, 100'000,
                     "how many periods ahead orders are accepted"),
      ParamSpec::u64("market.retail_tariff", 300'000, 0, kMaxPrice,
                     "price of grid energy, micro-units per kWh"),
      ParamSpec::u64("market.feed_in_tariff", 80'000, 0, kMaxPrice,
                     "price the operator pays for spilled energy, micro-units per kWh"),
      ParamSpec::u64("market.tax_ppm", 0, 0, 1'000'000,
                     "tax on sellers' proceeds, parts per million"),
      ParamSpec::account("market.operator", false,
                         "the grid operator: fees, retail and feed-in counterparty"),
      ParamSpec::account("market.tax_account", true, "the account that collects the tax"),
  };
}

struct Params {
  std::string rule;
  uint64_t gate_closure_ms = 0;
  uint64_t settlement_deadline_ms = 0;
  uint64_t max_periods_ahead = 0;
  int64_t retail_tariff = 0;  // micro per kWh
  int64_t feed_in_tariff = 0;
  uint64_t tax_ppm = 0;  // share of the seller's proceeds, parts per million
  PublicKey operator_account;
  std::optional<PublicKey> tax_account;
  MarketConfig config;
};

json params_json(const Params& p) {
  json j = {{"rule", p.rule},
            {"gate_closure_ms", p.gate_closure_ms},
            {"settlement_deadline_ms", p.settlement_deadline_ms},
            {"max_periods_ahead", p.max_periods_ahead},
            {"retail_tariff", p.retail_tariff},
            {"feed_in_tariff", p.feed_in_tariff},
            {"tax_ppm", p.tax_ppm},
            {"operator", p.operator_account.hex()},
            {"commodities", p.config.commodities},
            {"fees", p.config.fees}};
  if (p.tax_account) j["tax_account"] = p.tax_account->hex();
  return j;
}

// A non-negative integer (TOML integers arrive as signed JSON numbers).
std::optional<uint64_t> as_u64(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0)
    return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}

// The genesis section's commodities and fee matrix (its parameters are init_params').
Result<MarketConfig> config_from(const json& j) {
  MarketConfig c;
  c.commodities = {std::string(kElectricity)};
  auto bad = [](const std::string& m) { return error(Code::kBadGenesis, "market." + m); };
  if (j.contains("commodities")) {
    if (!j["commodities"].is_array() || j["commodities"].empty() ||
        j["commodities"].size() > kMaxCommodities)
      return bad("commodities must be a non-empty array of at most " +
                 std::to_string(kMaxCommodities) + " names");
    c.commodities.clear();
    for (const auto& x : j["commodities"]) {
      if (!x.is_string() || x.get<std::string>().empty() ||
          x.get<std::string>().size() > kMaxCommodity)
        return bad("commodity names are 1..16 bytes");
      c.commodities.push_back(x.get<std::string>());
    }
  }
  if (j.contains("fees")) {
    if (!j["fees"].is_object() || j["fees"].size() > kMaxFeeZones)
      return bad("fees must be a table of at most " + std::to_string(kMaxFeeZones) + " tables");
    for (const auto& [from, row] : j["fees"].items()) {
      if (!row.is_object() || row.size() > kMaxFeeZones)
        return bad("fees." + from + " must be a table of at most " + std::to_string(kMaxFeeZones) +
                   " fees");
      if (from.empty() || from.size() > kMaxMicrogrid)
        return bad("fees: microgrid names are 1..64 bytes");
      for (const auto& [to, fee] : row.items()) {
        auto v = as_u64(fee);
        if (!v || *v > static_cast<uint64_t>(kMaxFee))
          return bad("fees." + from + "." + to + " must be an integer >= 0");
        if (from == to && *v != 0) return bad("fees." + from + "." + to + " must be 0");
        if (to.empty() || to.size() > kMaxMicrogrid)
          return bad("fees: microgrid names are 1..64 bytes");
        c.fees[from][to] = static_cast<int64_t>(*v);
      }
    }
    for (const auto& [a, row] : c.fees)
      for (const auto& [b, row2] : c.fees)
        if (a != b && !row.count(b)) return bad("fees." + a + "." + b + " is missing");
  }
  return c;
}

Params load_params(const StateReader& s) {
  Params p;
  p.rule = read_text_param(s, "market.rule");
  p.gate_closure_ms = read_u64_param(s, "market.gate_closure_ms");
  p.settlement_deadline_ms = read_u64_param(s, "market.settlement_deadline_ms");
  p.max_periods_ahead = read_u64_param(s, "market.max_periods_ahead");
  // Both bounded by kMaxPrice in the parameter table.
  p.retail_tariff = static_cast<int64_t>(read_u64_param(s, "market.retail_tariff"));
  p.feed_in_tariff = static_cast<int64_t>(read_u64_param(s, "market.feed_in_tariff"));
  p.tax_ppm = read_u64_param(s, "market.tax_ppm");
  p.operator_account = read_account_param(s, "market.operator").value();
  p.tax_account = read_account_param(s, "market.tax_account");
  p.config = kConfig.get(s).value();
  return p;
}

// ---- Keys ---------------------------------------------------------------------------------

std::string hex16(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}
std::string order_key(const Hash32& id) {
  return "market/order/" + id.hex();
}
std::string book_prefix(std::string_view c, uint64_t period) {
  return "market/book/" + std::string(c) + "/" + hex16(period) + "/";
}
std::string due_key(uint64_t period, std::string_view c) {
  return "market/due/" + hex16(period) + "/" + std::string(c);
}
std::string trade_prefix(std::string_view c, uint64_t period) {
  return "market/trade/" + std::string(c) + "/" + hex16(period) + "/";
}
// The value settled for trade n of a period (written at settlement; see find_trade).
std::string trade_settled_key(std::string_view c, uint64_t period, uint64_t n) {
  return "market/tsettled/" + std::string(c) + "/" + hex16(period) + "/" + hex16(n);
}
std::string escrow_id(const Hash32& order) {
  return "market/" + order.hex();
}

// ---- Codecs ---------------------------------------------------------------------------------

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

std::string encode_order(const OrderRecord& o) {
  codec::Writer w;
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

// ---- Money helpers --------------------------------------------------------------------------

// Micro-units for nano-units, rounded up (what a buyer locks or pays).
Result<uint64_t> micro_ceil(uint128 nano) {
  uint128 m = (nano + 999) / 1000;
  if (m > std::numeric_limits<uint64_t>::max()) return error(Code::kOverflow, "amount overflows");
  return static_cast<uint64_t>(m);
}

uint128 bid_worst_case_nano(uint64_t qty, int64_t price, const Params& p) {
  return static_cast<uint128>(qty) * static_cast<uint64_t>(std::max(price, p.retail_tariff));
}

// ---- Order checks ---------------------------------------------------------------------------

Status check_common(const std::string& commodity, uint64_t qty, int64_t price) {
  if (commodity.empty()) return error(kUnknownCommodity, "commodity is empty");
  if (qty == 0) return error(kBadOrder, "quantity must be positive");
  if (qty > kMaxQtyWh) return error(kBadOrder, "quantity above " + std::to_string(kMaxQtyWh));
  if (price < 0 || price > kMaxPrice)
    return error(kBadOrder, "price must be in 0.." + std::to_string(kMaxPrice) + " micro/kWh");
  return ok();
}

uint64_t period_ms(const StateReader& s) {
  return meters::period_length_ms(s);
}

Status check_gate(const StateReader& s, const Params& p, uint64_t period, uint64_t now_ms) {
  uint64_t len = period_ms(s);
  auto start = checked_mul(period, len);
  if (!start) return error(kPeriodTooFar, "period out of range");
  uint64_t gate = *start > p.gate_closure_ms ? *start - p.gate_closure_ms : 0;
  if (now_ms >= gate)
    return error(kGateClosed, "gate of period " + std::to_string(period) + " closed at " +
                                  std::to_string(gate) + " ms");
  if (period > now_ms / len + p.max_periods_ahead)
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

void put_order(StateOverlay& s, const Hash32& id, const OrderRecord& o) {
  s.put(order_key(id), encode_order(o));
}

void index_open(StateOverlay& s, const Hash32& id, const OrderRecord& o) {
  s.put(book_prefix(o.commodity, o.period) + hex16(o.seq), std::string(id.view()));
  s.put(due_key(o.period, o.commodity), "");
}

// ---- Clearing ---------------------------------------------------------------------------------

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

// Stores a trade under the period's next number, with the buyer's index entry.
void append_trade(StateOverlay& s, std::string_view c, uint64_t period, const TradeRecord& r) {
  uint64_t n = get_u64(s, trade_count_key(c, period));
  s.put(trade_prefix(c, period) + hex16(n), encode_trade(r));
  s.put(
      "market/buyer/" + r.buyer.hex() + "/" + hex16(period) + "/" + std::string(c) + "/" + hex16(n),
      "");
  s.put(trade_count_key(c, period), encode_u64(n + 1));
}

TradeRecord trade_record(const Loaded& l, const Trade& t, uint64_t height) {
  const OrderRecord& b = l.orders[t.bid];
  const OrderRecord& o = l.orders[t.offer];
  return {l.ids[t.bid], l.ids[t.offer], b.owner,  o.owner, b.meter, o.meter, b.microgrid,
          o.microgrid,  o.source,       t.qty_wh, t.price, t.fee,   height};
}

std::vector<TradeRecord> load_trades(const StateReader& s, std::string_view c, uint64_t period);

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
  for (const Trade& t : c.trades) {
    append_trade(s, commodity, period, trade_record(live, t, ctx.block.height));
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
  Clearing c;
  if (p.rule != "continuous") {
    c = clear(build_book(l, p), *parse_rule(p.rule));
    for (const Trade& t : c.trades)
      append_trade(s, commodity, period, trade_record(l, t, ctx.block.height));
  }
  // Every trade of the period (in continuous mode, made as the orders arrived); per bid,
  // the worst case of what it bought.
  std::map<Hash32, size_t> index;
  for (size_t i = 0; i < l.ids.size(); ++i) index[l.ids[i]] = i;
  std::vector<uint128> bid_worst(l.orders.size(), 0);
  std::vector<uint64_t> filled(l.orders.size(), 0);
  uint64_t volume = 0;
  auto trades = load_trades(s, commodity, period);
  for (const TradeRecord& t : trades) {
    auto b = index.find(t.bid), o = index.find(t.offer);
    if (b == index.end() || o == index.end()) continue;  // cannot happen: traded orders stay
    filled[b->second] += t.qty;
    filled[o->second] += t.qty;
    volume += t.qty;
    bid_worst[b->second] += static_cast<uint128>(t.qty) *
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
  }
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

std::vector<TradeRecord> load_trades(const StateReader& s, std::string_view c, uint64_t period) {
  std::vector<TradeRecord> out;
  s.scan(trade_prefix(c, period), [&](std::string_view, std::string_view v) {
    out.push_back(decode_trade(v));
    return true;
  });
  return out;
}

// Shares `available` over `wanted` quantities: all when enough, else pro rata (floor).
std::vector<uint64_t> share(const std::vector<uint64_t>& wanted, uint64_t available) {
  uint128 total = 0;
  for (uint64_t w : wanted) total += w;
  std::vector<uint64_t> out(wanted.size());
  for (size_t i = 0; i < wanted.size(); ++i)
    out[i] = total <= available
                 ? wanted[i]
                 : static_cast<uint64_t>(static_cast<uint128>(wanted[i]) * available / total);
  return out;
}

// Returns false when the period must wait for readings.
bool settle_period(BlockContext& ctx, const Params& p, std::string_view commodity,
                   uint64_t period) {
  StateOverlay& s = ctx.state;
  uint64_t len = period_ms(s);
  uint64_t end = (period + 1) * len;
  if (ctx.block.time_ms < end) return false;
  bool deadline = ctx.block.time_ms >= end + p.settlement_deadline_ms;
  auto trades = load_trades(s, commodity, period);
  bool metered = commodity == kElectricity;
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

}  // namespace

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

namespace {

Status check_offer(const Transaction&, const OfferPayload& p) {
  return check_common(p.commodity, p.qty, p.price);
}
Status check_bid(const Transaction&, const BidPayload& p) {
  if (p.allowed_sources & ~kAnySource)
    return error(kUnknownSource, "allowed_sources names an unknown source");
  return check_common(p.commodity, p.qty, p.price);
}
Status check_amend(const Transaction&, const AmendPayload& p) {
  return check_common(std::string(kElectricity), p.qty, p.price);
}

// A bid's view: the order it would open, without what only the chain decides.
json bid_json(const BidPayload& p) {
  OrderRecord o;
  o.side = Side::kBid;
  o.commodity = p.commodity;
  o.period = p.period;
  o.qty = p.qty;
  o.price = p.price;
  o.meter = p.meter;
  o.renewable_only = p.renewable_only;
  o.allowed_sources = p.allowed_sources;
  o.excluded_sellers = p.excluded_sellers;
  o.excluded_microgrids = p.excluded_microgrids;
  o.preferred_sellers = p.preferred_sellers;
  json j = order_json(Hash32{}, o);
  for (const char* k : {"id", "owner", "status", "filled", "escrow", "microgrid"}) j.erase(k);
  return j;
}

}  // namespace

MarketModule::MarketModule() {
  register_market_codes();
  message(kOffer, "market/offer", &MarketModule::on_offer, {.check = check_offer});
  message(kBid, "market/bid", &MarketModule::on_bid, {.check = check_bid, .view = bid_json});
  message(kCancel, "market/cancel", &MarketModule::on_cancel);
  message(kAmend, "market/amend", &MarketModule::on_amend, {.check = check_amend});
  event<OfferEvent>();
  event<BidEvent>();
  event<CancelEvent>();
  event<AmendEvent>();
  event<MatchedEvent>();
  event<ClearedEvent>();
  event<SettledEvent>();
}

// The grid operator (fees, retail and feed-in counterparty) of a development chain is its
// issuer; every other parameter keeps its default.
std::string MarketModule::default_genesis(const DevelopmentAccounts& accounts) const {
  return "[market]\noperator = \"" + accounts.issuer.hex() + "\"\n";
}

Status MarketModule::init_genesis(StateOverlay& s, const json& section) {
  if (section.is_object() && section.empty()) return ok();  // no market on this chain
  if (!section.is_object()) return error(Code::kBadGenesis, "market section must be a table");
  std::set<std::string> known = {"commodities", "fees"};
  for (const ParamSpec& spec : market_params()) known.insert(std::string(spec.short_name()));
  for (const auto& [k, v] : section.items())
    if (!known.count(k))
      return error(Code::kBadGenesis, "market." + k + " is not a market parameter");
  if (Status st = init_params(s, market_params(), section); !st) return st;
  auto config = config_from(section);
  if (!config) return config.status();
  kConfig.put(s, *config);
  if (Status st = check_params(s); !st) return error(Code::kBadGenesis, st.message);
  return ok();
}

std::vector<ParamSpec> MarketModule::param_table() const {
  return market_params();
}

Status MarketModule::check_params(const StateReader& s) const {
  if (read_u64_param(s, "market.tax_ppm") > 0 && !read_account_param(s, "market.tax_account"))
    return error(Code::kInvalidArgument, "market.tax_ppm needs a market.tax_account");
  return ok();
}

std::vector<state::SchemaEntry> MarketModule::schema() const {
  return {
      {"market/seq", "", "u64"},
      {"market/order/", "<id hex>", "OrderRecord"},
      {"market/book/", "<c>/<period>/<seq>", "id (32 bytes)"},
      {"market/due/", "<period>/<c>", "\"\""},
      {"market/trade/", "<c>/<period>/<n>", "TradeRecord"},
      {"market/tcount/", "<c>/<period>", "u64"},
      {"market/buyer/", "<pk hex>/<period>/<c>/<n>", "\"\""},
      {kConfig.key(), "", "MarketConfig"},
      {kCleared.prefix(), "[commodity:str][period:u64]", "ClearedSummary"},
      {"market/unsettled/", "<period>/<c>", "\"\""},
      {kStatements.prefix(), "[commodity:str][period:u64][account:32]", "Statement"},
      {"market/tsettled/", "<c>/<period>/<n>", "u64"},
  };
}

namespace {

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
  return o;
}

}  // namespace

namespace {

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

}  // namespace

Status MarketModule::on_offer(TxContext& ctx, const OfferPayload& in) {
  StateOverlay& s = ctx.state;
  auto params = chain_params(s);
  if (!params) return params.status();
  const Params& p = *params;
  const auto& tx = ctx.tx;
  if (Status st = check_commodity(p, in.commodity); !st) return st;
  if (Status st = check_gate(s, p, in.period, ctx.block.time_ms); !st) return st;
  auto m = owned_meter(s, in.meter, tx.sender);
  if (!m) return m.status();
  if (m->source == meters::Source::kConsumer)
    return error(kMeterNotGenerating, "a consumer meter cannot offer energy");
  if (Status st = check_microgrid(p, m->microgrid); !st) return st;
  OrderRecord o = new_order(Side::kOffer, in, tx.sender, *m);
  o.source = static_cast<uint8_t>(m->source);
  o.seq = next_seq(s);
  put_order(s, ctx.tx_id, o);
  index_open(s, ctx.tx_id, o);
  if (p.rule == "continuous") match_on_arrival(ctx, p, o.commodity, o.period);
  ctx.events.push_back(make_event(OfferEvent{ctx.tx_id, o.period, o.qty, o.price}));
  return ok();
}

Status MarketModule::on_bid(TxContext& ctx, const BidPayload& in) {
  StateOverlay& s = ctx.state;
  auto params = chain_params(s);
  if (!params) return params.status();
  const Params& p = *params;
  const auto& tx = ctx.tx;
  if (Status st = check_commodity(p, in.commodity); !st) return st;
  if (Status st = check_gate(s, p, in.period, ctx.block.time_ms); !st) return st;
  auto m = owned_meter(s, in.meter, tx.sender);
  if (!m) return m.status();
  if (Status st = check_microgrid(p, m->microgrid); !st) return st;
  OrderRecord o = new_order(Side::kBid, in, tx.sender, *m);
  o.renewable_only = in.renewable_only;
  o.allowed_sources = in.allowed_sources;
  o.excluded_sellers = in.excluded_sellers;
  o.excluded_microgrids = in.excluded_microgrids;
  o.preferred_sellers = in.preferred_sellers;
  auto lock = micro_ceil(bid_worst_case_nano(in.qty, in.price, p));
  if (!lock) return lock.status();
  o.escrow = *lock;
  if (Status st = bank::lock(s, tx.sender, escrow_id(ctx.tx_id), o.escrow); !st) return st;
  o.seq = next_seq(s);
  put_order(s, ctx.tx_id, o);
  index_open(s, ctx.tx_id, o);
  if (p.rule == "continuous") match_on_arrival(ctx, p, o.commodity, o.period);
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

void MarketModule::end_block(BlockContext& ctx) {
  StateOverlay& s = ctx.state;
  if (!kConfig.has(s)) return;
  const Params p = load_params(s);
  uint64_t len = period_ms(s);
  // Books whose gate has closed, in (period, commodity) order.
  std::vector<std::pair<uint64_t, std::string>> due, unsettled;
  s.scan("market/due/", [&](std::string_view k, std::string_view) {
    uint64_t period = std::stoull(std::string(k.substr(11, 16)), nullptr, 16);
    uint64_t gate = period * len > p.gate_closure_ms ? period * len - p.gate_closure_ms : 0;
    if (ctx.block.time_ms < gate) return false;  // later periods are not due either
    due.emplace_back(period, std::string(k.substr(28)));
    return true;
  });
  for (const auto& [period, commodity] : due) {
    clear_period(ctx, p, commodity, period);
    s.erase(due_key(period, commodity));
  }
  s.scan("market/unsettled/", [&](std::string_view k, std::string_view) {
    uint64_t period = std::stoull(std::string(k.substr(17, 16)), nullptr, 16);
    if (ctx.block.time_ms < (period + 1) * len) return false;
    unsettled.emplace_back(period, std::string(k.substr(34)));
    return true;
  });
  for (const auto& [period, commodity] : unsettled)
    if (settle_period(ctx, p, commodity, period))
      s.erase("market/unsettled/" + hex16(period) + "/" + commodity);
}

Result<json> MarketModule::query(const StateReader& s, std::string_view path,
                                 const json& params) const {
  auto param = [&](const char* k) -> std::optional<std::string> {
    if (!params.is_object() || !params.contains(k)) return std::nullopt;
    const auto& v = params[k];
    if (v.is_string()) return v.get<std::string>();
    if (auto n = as_u64(v)) return std::to_string(*n);
    return std::nullopt;
  };
  auto number = [&](const char* k) -> Result<std::optional<uint64_t>> {
    auto v = param(k);
    if (!v) return std::optional<uint64_t>();
    try {
      size_t used = 0;
      uint64_t n = std::stoull(*v, &used);
      if (used != v->size()) throw std::invalid_argument(k);
      return std::optional<uint64_t>(n);
    } catch (const std::exception&) {
      return error(Code::kInvalidArgument, std::string(k) + " must be a non-negative integer");
    }
  };
  std::string commodity = param("commodity").value_or(std::string(kElectricity));
  if (!kConfig.has(s)) return error(Code::kNotFound, "no market in this chain");
  if (path == "params") return params_json(load_params(s));
  if (path.starts_with("orders/")) {
    auto id = Hash32::from_hex(path.substr(7));
    if (!id) return error(Code::kInvalidArgument, "order id must be 64 hex digits");
    auto o = find_order(s, *id);
    if (!o) return error(kOrderNotFound, "no order " + std::string(path.substr(7)));
    return order_json(*id, *o);
  }
  auto period_r = number("period");
  if (!period_r) return period_r.status();
  if (path == "book") {
    if (!*period_r) return error(Code::kInvalidArgument, "book needs ?period=");
    json orders = json::array();
    s.scan(book_prefix(commodity, **period_r), [&](std::string_view, std::string_view v) {
      Hash32 id = Hash32::from_span(reinterpret_cast<const uint8_t*>(v.data()));
      if (auto o = find_order(s, id)) orders.push_back(order_json(id, *o));
      return orders.size() < 10'000;
    });
    return json{{"commodity", commodity}, {"period", **period_r}, {"orders", orders}};
  }
  if (path == "trades" || path == "price" || path == "settlement") {
    if (!*period_r) return error(Code::kInvalidArgument, std::string(path) + " needs ?period=");
    uint64_t period = **period_r;
    bool named = !commodity.empty() && commodity.size() <= kMaxCommodity;
    auto cleared = named ? kCleared.get(s, {commodity, period}) : std::nullopt;
    if (path == "price") {
      if (!cleared) return error(Code::kNotFound, "period not cleared");
      return cleared->to_json();
    }
    if (path == "trades") {
      auto who = param("account");
      json trades = json::array();
      for (const auto& t : load_trades(s, commodity, period))
        if (!who || t.buyer.hex() == *who || t.seller.hex() == *who)
          trades.push_back(trade_json(t));
      return json{{"commodity", commodity},
                  {"period", period},
                  {"cleared", cleared ? cleared->to_json() : json(nullptr)},
                  {"trades", trades}};
    }
    auto who = param("account");
    if (!who) return error(Code::kInvalidArgument, "settlement needs ?account=");
    auto account = PublicKey::from_hex(*who);
    auto v = account && named ? kStatements.get(s, {commodity, period, *account}) : std::nullopt;
    if (!v) {
      bool pending = s.get("market/unsettled/" + hex16(period) + "/" + commodity).has_value();
      return json{{"account", *who}, {"period", period}, {"settled", false}, {"pending", pending}};
    }
    json j = v->to_json();
    j["account"] = account->hex();
    j["period"] = period;
    j["commodity"] = commodity;
    j["settled"] = true;
    return j;
  }
  if (path.starts_with("mix/")) {
    std::string who(path.substr(4));
    if (!PublicKey::from_hex(who))
      return error(Code::kInvalidArgument, "account must be 64 hex digits");
    auto from = number("from_ms"), to = number("to_ms");
    if (!from) return from.status();
    if (!to) return to.status();
    uint64_t len = period_ms(s);
    uint64_t first = from->value_or(0) / len;
    uint64_t last = to->value_or(std::numeric_limits<uint64_t>::max());
    last = last == 0 ? 0 : (last - 1) / len;
    std::map<std::string, uint64_t> by_source;
    uint64_t total = 0, renewable = 0;
    json trades = json::array();
    s.scan("market/buyer/" + who + "/", [&](std::string_view k, std::string_view) {
      // market/buyer/<64>/<period 16>/<commodity>/<n 16>
      std::string_view rest = k.substr(13 + 64 + 1);
      uint64_t period = std::stoull(std::string(rest.substr(0, 16)), nullptr, 16);
      if (period < first) return true;
      if (period > last) return false;
      std::string_view tail = rest.substr(17);
      std::string c(tail.substr(0, tail.size() - 17));
      if (c != commodity) return true;
      auto v = s.get(trade_prefix(c, period) + std::string(tail.substr(tail.size() - 16)));
      if (!v) return true;
      TradeRecord t = decode_trade(*v);
      by_source[std::string(source_name(static_cast<Source>(t.source)))] += t.qty;
      total += t.qty;
      if (is_renewable(static_cast<Source>(t.source))) renewable += t.qty;
      json tj = trade_json(t);
      tj["period"] = period;
      // The receipts: the bid and offer transactions (GET /v1/tx/<id>) and the block that
      // cleared the trade (its end-of-block receipt holds the market/cleared event).
      tj["receipts"] = {
          {"bid_tx", t.bid.hex()}, {"offer_tx", t.offer.hex()}, {"cleared_height", t.height}};
      trades.push_back(tj);
      return trades.size() < 10'000;
    });
    return json{{"account", who},         {"commodity", commodity},
                {"total_wh", total},      {"renewable_wh", renewable},
                {"by_source", by_source}, {"trades", trades}};
  }
  return error(Code::kNotFound, "no market query " + std::string(path));
}

}  // namespace gridpact::market
