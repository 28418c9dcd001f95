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
// State keys (periods and counters as 16 hex digits, so that scans are in order):
//   market/params                          genesis parameters (JSON)
//   market/seq                             u64 arrival counter (time priority)
//   market/order/<id hex>                  OrderRecord
//   market/book/<c>/<period>/<seq>         id (32 bytes): open orders in time priority
//   market/due/<period>/<c>                "" : books with orders not yet cleared
//   market/trade/<c>/<period>/<n>          TradeRecord
//   market/tcount/<c>/<period>             u64 number of trades of the period
//   market/buyer/<pk hex>/<period>/<c>/<n> "" : a buyer's trades (for the energy mix)
//   market/cleared/<c>/<period>            JSON summary of the clearing
//   market/unsettled/<period>/<c>          "" : cleared, not yet settled
//   market/statement/<c>/<period>/<pk hex> JSON settlement statement of one account
//   market/tsettled/<c>/<period>/<n>       u64 value settled for trade n (micro-units)
//
// Codes 1200-1299: see register_market_codes().
#pragma once

#include "ledger/module.hpp"
#include "modules/market/clearing.hpp"

namespace gridpact::market {

constexpr uint16_t kOffer = 0x0301;
constexpr uint16_t kBid = 0x0302;
constexpr uint16_t kCancel = 0x0303;
constexpr uint16_t kAmend = 0x0304;

constexpr Code kBadOrder = static_cast<Code>(1200);
constexpr Code kUnknownCommodity = static_cast<Code>(1201);
constexpr Code kUnknownSource = static_cast<Code>(1202);
constexpr Code kMeterNotOwned = static_cast<Code>(1203);
constexpr Code kMeterNotGenerating = static_cast<Code>(1204);
constexpr Code kGateClosed = static_cast<Code>(1205);
constexpr Code kOrderNotFound = static_cast<Code>(1206);
constexpr Code kNotOrderOwner = static_cast<Code>(1207);
constexpr Code kOrderNotOpen = static_cast<Code>(1208);
constexpr Code kUnknownMeter = static_cast<Code>(1209);
constexpr Code kUnknownMicrogrid = static_cast<Code>(1210);
constexpr Code kPeriodTooFar = static_cast<Code>(1211);
void register_market_codes();

constexpr size_t kMaxCommodity = 16;
constexpr size_t kMaxPrefList = 16;
constexpr size_t kMaxMicrogrid = 64;
constexpr std::string_view kElectricity = "electricity";

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

class MarketModule : public Module {
 public:
  MarketModule();
  std::string_view name() const override { return "market"; }
  Status init_genesis(StateOverlay& state, const json& section) override;
  void end_block(BlockContext& ctx) override;
  Result<json> query(const StateReader& state, std::string_view path,
                     const json& params) const override;

 private:
  // One handler per message, declared in the constructor.
  Status on_offer(TxContext& ctx, const OfferPayload& in);
  Status on_bid(TxContext& ctx, const BidPayload& in);
  Status on_cancel(TxContext& ctx, const CancelPayload& in);
  Status on_amend(TxContext& ctx, const AmendPayload& in);
};

}  // namespace gridpact::market
