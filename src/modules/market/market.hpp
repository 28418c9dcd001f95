// The market module: per-period order books of energy (and other commodities), cleared
// in end_block at gate closure with the clearing engine (clearing.hpp), trades kept with
// their provenance, and settlement from the meters once the period's readings are in.
//
// Orders. An offer names a generating meter the sender owns (its microgrid and source
// come from the meter); a bid names a meter of the buyer (its microgrid) and locks its
// worst-case cost, ceil(qty_wh x max(price, retail_tariff) / 1000) micro-units, in a bank
// escrow "market/<order id hex>". Prices are micro-units per kWh, >= 0 on chain. Orders for
// period p are accepted, amended or cancelled while block time < p x period_ms -
// gate_closure_ms, and at most max_periods_ahead periods ahead. The order id is its tx id.
//
// Clearing. end_block clears every (commodity, period) whose gate has closed, with the
// genesis rule (pay-as-clear, pay-as-bid, midpoint). In "continuous" mode an arriving (or
// amended) order trades at once with the resting orders, price-time priority, at their
// prices; an order that has traded can no longer be cancelled or amended, and the gate
// only closes the book. Fees are the genesis zone matrix. At the gate each bid's escrow
// shrinks to the worst case of what it bought; the rest is refunded.
//
// Settlement of a cleared period (commodity "electricity"), in end_block once the period
// is over and every meter involved has its reading for the period, or at the deadline
// (period end + settlement_deadline_ms) without them:
//   a seller meter's export E is shared over its trades (pro rata, floor): delivered d_s;
//   a buyer meter's import I likewise: taken d_b. Missing reading at the deadline:
//   a seller delivered nothing (no proof of export), a buyer took all it bought.
//   e = min(d_s, d_b) is paid at the trade price: seller e x price less the tax share,
//   tax account the tax share, operator e x fee; what the buyer took beyond e came from
//   the grid and is paid at retail_tariff to the operator; what the seller delivered beyond
//   e spilled to the grid and the operator pays it at feed_in_tariff if its balance allows
//   (else it is recorded unpaid). Per bid, the buyer pays ceil(total nano / 1000) micro out
//   of escrow; sellers and the tax account get floor(nano / 1000); the operator gets the
//   rest (fees, retail, rounding). The escrow is then refunded. Money only moves between
//   balances and escrows, so bank::supply is unchanged. Other commodities have no meters:
//   they settle as delivered in full when the period is over.
//
// Parameters (ledger/params.hpp; genesis section [market], same names without "market."):
//   market.rule                    pay-as-clear | pay-as-bid | midpoint | continuous
//   market.gate_closure_ms         0..86400000, default 0
//   market.settlement_deadline_ms  0..2592000000, default 3600000
//   market.max_periods_ahead       0..100000, default 672
//   market.retail_tariff           0..1e9 micro per kWh, default 300000
//   market.feed_in_tariff          0..1e9 micro per kWh, default 80000
//   market.tax_ppm                 0..1000000, default 0; above 0 needs a tax_account
//   market.operator                the grid operator's account (required)
//   market.tax_account             the account that collects the tax (optional)
//
// The market's shape, set in genesis, changes by governance (governed actions, governed.cpp):
//   market/set_fees       FeesAction: fees (from, to, fee) set at once (a new microgrid
//                         joins the zones with every pair given); the matrix must stay
//                         complete, with 0 within a microgrid (BAD_MARKET_SHAPE otherwise)
//   market/add_commodity  CommodityAction: a commodity traded from then on
// A fee change applies to books cleared after it; commodities are never removed (open
// books would be stranded) and zones never leave the matrix (orders name them).
//
// State keys. <...>: text, periods and counters as 16 hex digits, so that scans are in
// order; [name:type]: typed key parts of a collection (ledger/collections.hpp: str is u16
// length + bytes, u64 is 8 bytes big-endian). Values are canonically encoded records.
//   market/seq                             u64 arrival counter (time priority)
//   market/config                          MarketConfig: commodities, fee matrix (genesis,
//                                          then governance)
//   market/order/<id hex>                  OrderRecord
//   market/book/<c>/<period>/<seq>         id (32 bytes): open orders in time priority
//   market/due/<period>/<c>                "" : books with orders not yet cleared
//   market/openn/<c>/<period>[/<pk hex>]   u64 open orders of the book [of one account]
//                                          (erased when the book clears)
//   market/trade/<c>/<period>/<n>          TradeRecord
//   market/tcount/<c>/<period>             u64 number of trades of the period
//   market/buyer/<pk hex>/<period>/<c>/<n> "" : a buyer's trades (for the energy mix)
//   market/cleared/[commodity:str][period:u64]  ClearedSummary of the gate
//   market/unsettled/<period>/<c>          "" : cleared, not yet settled
//   market/statement/[commodity:str][period:u64][account:32]  Statement of one account
//   market/tsettled/<c>/<period>/<n>       u64 value settled for trade n (micro-units)
//
// Codes 1200-1299: see register_market_codes().
#pragma once

#include "ledger/module.hpp"
#include "modules/market/clearing.hpp"
#include "modules/market/reading_hints.hpp"

namespace gridpact::market {

constexpr uint16_t kOffer = 0x0301;
constexpr uint16_t kBid = 0x0302;
constexpr uint16_t kCancel = 0x0303;
constexpr uint16_t kAmend = 0x0304;

// Error codes: X(constant, number, name, meaning).
#define GRIDPACT_MARKET_CODES(X)                                                                  \
  X(kBadOrder, 1200, "BAD_ORDER", "an order quantity, price or field is out of range")            \
  X(kUnknownCommodity, 1201, "UNKNOWN_COMMODITY", "the market does not trade that commodity")     \
  X(kUnknownSource, 1202, "UNKNOWN_SOURCE", "a source name is not one the market knows")          \
  X(kMeterNotOwned, 1203, "METER_NOT_OWNED", "the order names a meter of another account")        \
  X(kMeterNotGenerating, 1204, "METER_NOT_GENERATING", "a consumer meter cannot offer energy")    \
  X(kGateClosed, 1205, "GATE_CLOSED", "the gate of the order period has closed")                  \
  X(kOrderNotFound, 1206, "ORDER_NOT_FOUND", "no order with that id")                             \
  X(kNotOrderOwner, 1207, "NOT_ORDER_OWNER", "the order belongs to another account")              \
  X(kOrderNotOpen, 1208, "ORDER_NOT_OPEN", "the order is no longer open (or has traded)")         \
  X(kUnknownMeter, 1209, "UNKNOWN_METER", "the order names an unknown or revoked meter")          \
  X(kUnknownMicrogrid, 1210, "UNKNOWN_MICROGRID", "the microgrid is not in the market fee zones") \
  X(kPeriodTooFar, 1211, "PERIOD_TOO_FAR", "the period is out of range or too far ahead")         \
  X(kBadMarketShape, 1212, "BAD_MARKET_SHAPE",                                                    \
    "the fee matrix would be incomplete or out of range, or the commodity is invalid or listed")  \
  X(kBookFull, 1213, "BOOK_FULL",                                                                 \
    "the book, or the sender's share of it, holds as many open orders as the market allows")
GRIDPACT_CODES(kMarketCodes, "market", 1200, GRIDPACT_MARKET_CODES);
void register_market_codes();

constexpr size_t kMaxCommodity = 16;
constexpr size_t kMaxCommodities = 64;  // commodities of one market
constexpr size_t kMaxFeeZones = 256;    // microgrids in the fee matrix
constexpr size_t kMaxPrefList = 16;
constexpr size_t kMaxMicrogrid = 64;
constexpr std::string_view kElectricity = "electricity";

// Governed actions (payloads of governance proposals).
struct FeeEntry {
  std::string from, to;  // seller's and buyer's microgrids
  uint64_t fee = 0;      // micro-units per kWh
  static constexpr auto fields =
      std::tuple{codec::field("from", &FeeEntry::from, codec::max_len(kMaxMicrogrid)),
                 codec::field("to", &FeeEntry::to, codec::max_len(kMaxMicrogrid)),
                 codec::field("fee", &FeeEntry::fee)};
};
struct FeesAction {
  std::vector<FeeEntry> fees;
  static constexpr auto fields =
      std::tuple{codec::field("fees", &FeesAction::fees, codec::max_len(kMaxFeeZones))};
};
struct CommodityAction {
  std::string name;
  static constexpr auto fields =
      std::tuple{codec::field("name", &CommodityAction::name, codec::max_len(kMaxCommodity))};
};

// Payloads: their fields in order are their encoding (codec/fields.hpp) and their JSON.
struct OfferPayload {
  std::string commodity{kElectricity};
  uint64_t period = 0;
  uint64_t qty = 0;
  int64_t price = 0;
  Hash32 meter;
  static constexpr auto fields = std::tuple{
      codec::field("commodity", &OfferPayload::commodity, codec::max_len(kMaxCommodity)),
      codec::field("period", &OfferPayload::period), codec::field("qty", &OfferPayload::qty),
      codec::field("price", &OfferPayload::price), codec::field("meter", &OfferPayload::meter)};
};
struct BidPayload {
  std::string commodity{kElectricity};
  uint64_t period = 0;
  uint64_t qty = 0;
  int64_t price = 0;
  Hash32 meter;  // the buyer's meter: its microgrid, and its import at settlement
  bool renewable_only = false;
  uint8_t allowed_sources = kAnySource;
  std::vector<PublicKey> excluded_sellers;
  std::vector<std::string> excluded_microgrids;
  std::vector<PublicKey> preferred_sellers;
  static constexpr auto fields = std::tuple{
      codec::field("commodity", &BidPayload::commodity, codec::max_len(kMaxCommodity)),
      codec::field("period", &BidPayload::period),
      codec::field("qty", &BidPayload::qty),
      codec::field("price", &BidPayload::price),
      codec::field("meter", &BidPayload::meter),
      codec::field("renewable_only", &BidPayload::renewable_only),
      codec::field("allowed_sources", &BidPayload::allowed_sources),
      codec::field("excluded_sellers", &BidPayload::excluded_sellers, codec::max_len(kMaxPrefList)),
      codec::field("excluded_microgrids", &BidPayload::excluded_microgrids,
                   codec::max_len(kMaxPrefList), codec::item_len(kMaxMicrogrid)),
      codec::field("preferred_sellers", &BidPayload::preferred_sellers,
                   codec::max_len(kMaxPrefList))};
};
struct CancelPayload {
  Hash32 order;
  static constexpr auto fields = std::tuple{codec::field("order", &CancelPayload::order)};
};
struct AmendPayload {
  Hash32 order;
  uint64_t qty = 0;
  int64_t price = 0;
  static constexpr auto fields = std::tuple{codec::field("order", &AmendPayload::order),
                                            codec::field("qty", &AmendPayload::qty),
                                            codec::field("price", &AmendPayload::price)};
};
// Events (receipt data: the canonical encoding of these fields).
struct OfferEvent {
  static constexpr std::string_view kType = "market/offer";
  Hash32 id;
  uint64_t period = 0, qty = 0;
  int64_t price = 0;
  static constexpr auto fields =
      std::tuple{codec::field("id", &OfferEvent::id), codec::field("period", &OfferEvent::period),
                 codec::field("qty", &OfferEvent::qty), codec::field("price", &OfferEvent::price)};
};
struct BidEvent {
  static constexpr std::string_view kType = "market/bid";
  Hash32 id;
  uint64_t period = 0, qty = 0;
  int64_t price = 0;
  uint64_t escrow = 0;
  static constexpr auto fields =
      std::tuple{codec::field("id", &BidEvent::id), codec::field("period", &BidEvent::period),
                 codec::field("qty", &BidEvent::qty), codec::field("price", &BidEvent::price),
                 codec::field("escrow", &BidEvent::escrow)};
};
struct CancelEvent {
  static constexpr std::string_view kType = "market/cancel";
  Hash32 id;
  static constexpr auto fields = std::tuple{codec::field("id", &CancelEvent::id)};
};
struct AmendEvent {
  static constexpr std::string_view kType = "market/amend";
  Hash32 id;
  uint64_t qty = 0;
  int64_t price = 0;
  static constexpr auto fields =
      std::tuple{codec::field("id", &AmendEvent::id), codec::field("qty", &AmendEvent::qty),
                 codec::field("price", &AmendEvent::price)};
};
struct MatchedEvent {  // continuous market: trades made on an order's arrival
  static constexpr std::string_view kType = "market/matched";
  uint64_t trades = 0, volume_wh = 0;
  static constexpr auto fields = std::tuple{codec::field("trades", &MatchedEvent::trades),
                                            codec::field("volume_wh", &MatchedEvent::volume_wh)};
};
constexpr size_t kMaxRuleName = 32;
constexpr size_t kMaxClearingNote = 256;  // longer notes are cut
struct ClearedEvent {
  static constexpr std::string_view kType = "market/cleared";
  std::string commodity;
  uint64_t period = 0;
  std::string rule;
  uint64_t orders = 0, trades = 0, volume_wh = 0, height = 0;
  std::optional<int64_t> clearing_price;
  std::string note;
  static constexpr auto fields =
      std::tuple{codec::field("commodity", &ClearedEvent::commodity, codec::max_len(kMaxCommodity)),
                 codec::field("period", &ClearedEvent::period),
                 codec::field("rule", &ClearedEvent::rule, codec::max_len(kMaxRuleName)),
                 codec::field("orders", &ClearedEvent::orders),
                 codec::field("trades", &ClearedEvent::trades),
                 codec::field("volume_wh", &ClearedEvent::volume_wh),
                 codec::field("height", &ClearedEvent::height),
                 codec::field("clearing_price", &ClearedEvent::clearing_price),
                 codec::field("note", &ClearedEvent::note, codec::max_len(kMaxClearingNote))};
};
struct SettledEvent {
  static constexpr std::string_view kType = "market/settled";
  std::string commodity;
  uint64_t period = 0, trades = 0;
  bool deadline = false;  // settled at the deadline, some readings missing
  static constexpr auto fields = std::tuple{
      codec::field("commodity", &SettledEvent::commodity, codec::max_len(kMaxCommodity)),
      codec::field("period", &SettledEvent::period), codec::field("trades", &SettledEvent::trades),
      codec::field("deadline", &SettledEvent::deadline)};
};

Bytes encode(const OfferPayload& p);
Bytes encode(const BidPayload& p);
Bytes encode(const CancelPayload& p);
Bytes encode(const AmendPayload& p);
Result<OfferPayload> decode_offer(const Bytes& b);
Result<BidPayload> decode_bid(const Bytes& b);
Result<CancelPayload> decode_cancel(const Bytes& b);
Result<AmendPayload> decode_amend(const Bytes& b);

enum class OrderStatus : uint8_t { kOpen = 0, kCleared = 1, kCancelled = 2 };

struct OrderRecord {
  Side side = Side::kBid;
  std::string commodity;
  uint64_t period = 0;
  uint64_t qty = 0;
  int64_t price = 0;
  PublicKey owner;
  Hash32 meter;
  std::string microgrid;
  uint8_t source = 0;
  OrderStatus status = OrderStatus::kOpen;
  uint64_t seq = 0;
  uint64_t filled = 0;
  uint64_t escrow = 0;  // micro-units locked (bids)
  bool renewable_only = false;
  uint8_t allowed_sources = kAnySource;
  std::vector<PublicKey> excluded_sellers;
  std::vector<std::string> excluded_microgrids;
  std::vector<PublicKey> preferred_sellers;
};

struct TradeRecord {
  Hash32 bid;
  Hash32 offer;
  PublicKey buyer;
  PublicKey seller;
  Hash32 buyer_meter;
  Hash32 seller_meter;
  std::string buyer_microgrid;
  std::string seller_microgrid;
  uint8_t source = 0;
  uint64_t qty = 0;
  int64_t price = 0;
  int64_t fee = 0;
  uint64_t height = 0;  // block that cleared it
};

std::optional<OrderRecord> find_order(const StateReader& s, const Hash32& id);

// Trade number `index` of (commodity, period), for ratings of the counterparty (the
// agreements module): its parties and, once the period has settled, the value settled for
// it (energy both delivered and taken x trade price, micro-units, before tax; 0 when
// nothing was delivered). nullopt: no such trade.
struct TradeInfo {
  PublicKey buyer, seller;
  uint64_t qty_wh = 0;
  int64_t price = 0;
  bool settled = false;
  uint64_t settled_micro = 0;
};
std::optional<TradeInfo> find_trade(const StateReader& s, std::string_view commodity,
                                    uint64_t period, uint64_t index);

// One account's settlement of (commodity, period), the figures GET /v1/market/settlement
// shows (energy in Wh, money in micro-units); nullopt until that period has settled for
// the account (or if it had nothing to settle).
struct SettlementInfo {
  uint64_t bought_wh = 0, sold_wh = 0, delivered_wh = 0, received_wh = 0, grid_wh = 0,
           spilled_wh = 0;
  uint64_t paid = 0, received = 0, fees = 0, tax = 0;
};
std::optional<SettlementInfo> find_settlement(const StateReader& s, std::string_view commodity,
                                              uint64_t period, const PublicKey& account);

class MarketModule : public Module {
 public:
  MarketModule();
  std::string_view name() const override { return "market"; }
  Status init_genesis(StateOverlay& state, const json& section) override;
  std::string default_genesis(const DevelopmentAccounts& accounts) const override;
  void end_block(BlockContext& ctx) override;
  std::vector<ParamSpec> param_table() const override;
  Status check_params(const StateReader& state) const override;
  std::vector<state::SchemaEntry> schema() const override;

 private:
  void declare_routes();  // queries.cpp: the module's query routes
  // One handler per message, declared in the constructor.
  Status on_offer(TxContext& ctx, const OfferPayload& in);
  Status on_bid(TxContext& ctx, const BidPayload& in);
  Status on_cancel(TxContext& ctx, const CancelPayload& in);
  Status on_amend(TxContext& ctx, const AmendPayload& in);
  // Governed actions (governed.cpp).
  void declare_governed_actions();
  Status apply_set_fees(GovernedContext& ctx, const FeesAction& a);
  Status apply_add_commodity(GovernedContext& ctx, const CommodityAction& a);

  ReadingHints reading_hints_;  // saves work only (reading_hints.hpp)
};

}  // namespace gridpact::market
