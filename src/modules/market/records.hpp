// The market module's records in state (key layout, canonical codecs, the collections of
// the header's key table), its parameters, and the steps its source files share: orders.cpp
// (the handlers), gate.cpp (clearing at gate closure, continuous matching), settlement.cpp,
// queries.cpp. Shared by the module's source files only; the interface is market.hpp.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "ledger/collections.hpp"
#include "modules/market/clearing.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"

namespace gridpact::market {

// ---- Schema: records and collections ------------------------------------------------------
// (the header's key table lists them; market_test checks the two against each other)

// The market's shape, set at genesis, changed by governance (governed.cpp).
struct MarketConfig {
  std::vector<std::string> commodities;
  std::map<std::string, std::map<std::string, int64_t>> fees;  // [seller mg][buyer mg]
};

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

using BookKey = std::pair<std::string, uint64_t>;                   // commodity, period
using StatementKey = std::tuple<std::string, uint64_t, PublicKey>;  // ..., account
inline const state::Item<MarketConfig> kConfig("market/config");
inline const state::Map<BookKey, ClearedSummary> kCleared("market/cleared/");
inline const state::Map<StatementKey, Statement> kStatements("market/statement/");

void encode_value(codec::Writer& w, const MarketConfig& c);
void decode_value(codec::Reader& r, MarketConfig& c);
void encode_value(codec::Writer& w, const ClearedSummary& c);
void decode_value(codec::Reader& r, ClearedSummary& c);
void encode_value(codec::Writer& w, const Statement& s);
void decode_value(codec::Reader& r, Statement& s);

// ---- Parameters (params.cpp) ------------------------------------------------------------

// The parameters a governance change may alter (ledger/params.hpp); commodities and the
// fee matrix are the market's shape (MarketConfig), changed by governed actions.
std::vector<ParamSpec> market_params();

struct Params {
  std::string rule;
  uint64_t gate_closure_ms = 0;
  uint64_t settlement_deadline_ms = 0;
  uint64_t max_periods_ahead = 0;
  int64_t retail_tariff = 0;  // micro per kWh
  int64_t feed_in_tariff = 0;
  uint64_t tax_ppm = 0;  // share of the seller's proceeds, parts per million
  // Work bounds (README "Limits and abuse"): open orders per book and per account in one
  // book; books cleared (and periods settled) per block, the rest in the next blocks.
  uint64_t max_orders_per_book = 0, max_orders_per_account = 0, max_books_per_block = 0;
  PublicKey operator_account;
  std::optional<PublicKey> tax_account;
  MarketConfig config;
};

json params_json(const Params& p);
// A non-negative integer (TOML integers arrive as signed JSON numbers).
std::optional<uint64_t> as_u64(const json& v);
// The genesis section's commodities and fee matrix (its parameters are init_params').
Result<MarketConfig> config_from(const json& j);
Params load_params(const StateReader& s);

// ---- Keys ---------------------------------------------------------------------------------

inline std::string hex16(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<size_t>(i)] = kDigits[v & 15];
  return out;
}
inline std::string order_key(const Hash32& id) {
  return "market/order/" + id.hex();
}
inline std::string book_prefix(std::string_view c, uint64_t period) {
  return "market/book/" + std::string(c) + "/" + hex16(period) + "/";
}
inline std::string due_key(uint64_t period, std::string_view c) {
  return "market/due/" + hex16(period) + "/" + std::string(c);
}
inline std::string trade_prefix(std::string_view c, uint64_t period) {
  return "market/trade/" + std::string(c) + "/" + hex16(period) + "/";
}
// The value settled for trade n of a period (written at settlement; see find_trade).
inline std::string trade_settled_key(std::string_view c, uint64_t period, uint64_t n) {
  return "market/tsettled/" + std::string(c) + "/" + hex16(period) + "/" + hex16(n);
}
inline std::string escrow_id(const Hash32& order) {
  return "market/" + order.hex();
}

// ---- Records (records.cpp) ----------------------------------------------------------------

std::string encode_order(const OrderRecord& o);
std::optional<OrderRecord> decode_order(std::string_view s);
std::string encode_trade(const TradeRecord& t);
TradeRecord decode_trade(std::string_view s);
json trade_json(const TradeRecord& t);
json order_json(const Hash32& id, const OrderRecord& o);
void put_order(StateOverlay& s, const Hash32& id, const OrderRecord& o);
// The trades of (commodity, period), in their numbers' order.
std::vector<TradeRecord> load_trades(const StateReader& s, std::string_view c, uint64_t period);

inline uint64_t period_ms(const StateReader& s) {
  return meters::period_length_ms(s);
}

// ---- Money --------------------------------------------------------------------------------

// Micro-units for nano-units, rounded up (what a buyer locks or pays).
inline Result<uint64_t> micro_ceil(uint128 nano) {
  uint128 m = (nano + 999) / 1000;
  if (m > std::numeric_limits<uint64_t>::max()) return error(Code::kOverflow, "amount overflows");
  return static_cast<uint64_t>(m);
}

inline uint128 bid_worst_case_nano(uint64_t qty, int64_t price, const Params& p) {
  return static_cast<uint128>(qty) * static_cast<uint64_t>(std::max(price, p.retail_tariff));
}

// ---- Orders (orders.cpp) ------------------------------------------------------------------

// The stateless checks of an order's commodity, quantity and price.
Status check_common(const std::string& commodity, uint64_t qty, int64_t price);

// ---- Clearing at the gate (gate.cpp) and settlement (settlement.cpp) ----------------------

// Continuous mode: the arriving order (the last in time priority) trades at once with the
// resting orders, at their prices (clearing.hpp, clear_continuous).
void match_on_arrival(TxContext& ctx, const Params& p, std::string_view commodity, uint64_t period);
// Gate closure of one book: clears it by the rule, records trades, the summary, the event,
// and releases what bids locked beyond the worst case of what they bought.
void clear_period(BlockContext& ctx, const Params& p, std::string_view commodity, uint64_t period);
// Settles a cleared period from the meters' readings. Returns false when the period must
// wait for readings. `schedule` is the meters' period schedule as the block reads it.
bool settle_period(BlockContext& ctx, const Params& p, const meters::PeriodSchedule& schedule,
                   std::string_view commodity, uint64_t period, ReadingHints& hints);

}  // namespace gridpact::market
