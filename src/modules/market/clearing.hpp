// The market's clearing engine: a pure library (no ledger, no clock, integers only) that
// every node runs inside a block and that `gridpact market clear` runs offline.
//
// Periodic double auction (clear): maximises welfare, the sum over trades of
//   qty_wh x (bid.price - offer.price - fee(seller microgrid, buyer microgrid)),
// subject to every bid's preferences and quantities, exactly (not greedily).
//
// How: bids are grouped into classes by (microgrid, preference set); offers into groups by
// (microgrid, source class, seller if some bid excludes that seller), where sources that no
// bid tells apart share a class. Inside a class or group, orders differ only by price. The
// aggregated problem is a min-cost flow S -> group -> class -> T whose S->group arcs are
// the group's price levels (ascending, convex) and class->T arcs the class's bid levels
// (descending). Successive shortest paths (Dijkstra with potentials, O(V^2) per path on
// the small aggregated graph) push flow while a path has non-positive cost, so the result
// is an exact optimum (zero-margin trades are included: volume is the tie-break). By
// complementary slackness every filled bid of a class can be paired with every filled offer
// of a group that sends it flow without violating bid.price >= offer.price + fee, so
// orders are then filled and paired in a fixed order.
//
// Deterministic ties: inside a class, bids fill by price descending, then book position
// (time priority); offers by price ascending, then book position. A group's filled
// offers are split over its classes in class order; a class pairs its filled bids, in
// fill order, with the incoming offer segments in group order; but a bid with preferred
// sellers first takes what those sellers send its class (a tie hint: it never changes
// which orders fill, only who trades with whom). Classes are numbered by the
// first bid of each class in book order, groups by the first offer.
//
// Price rules (the seller receives `price` per kWh, the buyer pays price + fee):
//   pay-as-bid  price = bid.price - fee
//   midpoint    price = floor((offer.price + bid.price - fee) / 2)
//   pay-as-clear one uniform price for every trade, the midpoint (floored) of the interval
//               of market-clearing prices, when the book has one microgrid and no bid
//               has preferences. Otherwise a uniform price is not defined and every trade
//               gets the midpoint price; Clearing::note says so.
//
// Continuous mode (clear_continuous): orders arrive in book order; an arriving order
// trades at once with the best resting orders it accepts (price, then time priority:
// for a bid, lowest offer.price + fee first; for an offer, highest bid.price - fee
// first), at the resting order's price; what is left rests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/error.hpp"

namespace gridpact::market {

// Exact money sums (welfare over a large book exceeds 64 bits).
__extension__ typedef __int128 int128;
__extension__ typedef unsigned __int128 uint128;

// Numbered like meters::Source (0 is a consumer meter, which cannot offer).
enum class Source : uint8_t {
  kPv = 1,
  kWind = 2,
  kHydro = 3,
  kBiomass = 4,
  kBattery = 5,
  kGrid = 6
};
constexpr uint8_t kAnySource = 0x7e;         // bits 1..6
constexpr uint8_t kRenewableSources = 0x1e;  // pv, wind, hydro, biomass
std::string_view source_name(Source s);
std::optional<Source> parse_source(std::string_view name);
inline bool is_renewable(Source s) {
  return (kRenewableSources >> static_cast<int>(s)) & 1;
}

// Bounds of every order (so that qty x price never overflows int64 nano-units).
constexpr uint64_t kMaxQtyWh = 1'000'000'000;  // 1 GWh per order
constexpr int64_t kMaxPrice = 1'000'000'000;   // 1000 units per kWh
constexpr int64_t kMaxFee = 1'000'000'000;
constexpr size_t kMaxNameLength = 128;  // ids, accounts, microgrids
constexpr size_t kMaxPreferenceList = 64;

enum class Side : uint8_t { kBid = 0, kOffer = 1 };

// A bid's preferences. Lists are sorted, deduplicated indices into Book::accounts or
// Book::microgrids.
struct Preference {
  bool renewable_only = false;
  uint8_t allowed_sources = kAnySource;  // bit (1 << source)
  std::vector<uint32_t> excluded_sellers;
  std::vector<uint32_t> excluded_microgrids;
  std::vector<uint32_t> preferred_sellers;  // a tie hint for pairing, never a constraint
  bool operator==(const Preference&) const = default;
  bool constrains() const {
    return renewable_only || allowed_sources != kAnySource || !excluded_sellers.empty() ||
           !excluded_microgrids.empty();
  }
};

struct Order {
  Side side = Side::kBid;
  uint64_t qty_wh = 0;
  int64_t price = 0;  // micro per kWh: a bid's maximum, an offer's minimum
  uint32_t account = 0;
  uint32_t microgrid = 0;
  Source source = Source::kGrid;  // offers
  uint32_t preference = 0;        // bids: index into Book::preferences (0 = none)
};

// One period's book. Strings are interned; orders are in time priority.
class Book {
 public:
  Book() { preferences_.emplace_back(); }

  uint32_t account(std::string_view name);
  uint32_t microgrid(std::string_view name);
  uint32_t preference(Preference p);  // deduplicated
  void set_fee(uint32_t seller_microgrid, uint32_t buyer_microgrid, int64_t fee);
  // Appends an order (bounds are the caller's to check: see validate()).
  void add(std::string id, const Order& o);

  // Checks quantities, prices, fees (one for every pair of order microgrids, 0 on the
  // diagonal), unique ids.
  Status validate() const;

  int64_t fee(uint32_t seller_microgrid, uint32_t buyer_microgrid) const;
  bool has_fee(uint32_t seller_microgrid, uint32_t buyer_microgrid) const;
  // Whether `bid` accepts `offer` on preferences alone (no price check).
  bool accepts(const Order& bid, const Order& offer) const;
  // Whether the pair may trade: preferences and bid.price >= offer.price + fee.
  bool can_trade(const Order& bid, const Order& offer) const;

  const std::vector<Order>& orders() const { return orders_; }
  const std::vector<std::string>& ids() const { return ids_; }
  const std::vector<std::string>& accounts() const { return accounts_; }
  const std::vector<std::string>& microgrids() const { return microgrids_; }
  const std::vector<Preference>& preferences() const { return preferences_; }
  void reserve(size_t n) {
    orders_.reserve(n);
    ids_.reserve(n);
  }

 private:
  std::vector<Order> orders_;
  std::vector<std::string> ids_;
  std::vector<std::string> accounts_;
  std::unordered_map<std::string, uint32_t> account_index_;
  std::vector<std::string> microgrids_;
  std::vector<Preference> preferences_;
  std::vector<std::vector<int64_t>> fees_;  // [seller][buyer], -1 = not given
};

enum class PriceRule : uint8_t { kPayAsClear = 0, kPayAsBid = 1, kMidpoint = 2 };
std::string_view rule_name(PriceRule r);
std::optional<PriceRule> parse_rule(std::string_view name);

struct Trade {
  uint32_t bid = 0;    // order index in the book
  uint32_t offer = 0;  // order index in the book
  uint64_t qty_wh = 0;
  int64_t price = 0;  // what the seller receives, micro per kWh
  int64_t fee = 0;    // wheeling fee, micro per kWh
};

struct Clearing {
  std::vector<Trade> trades;
  std::optional<int64_t> uniform_price;  // pay-as-clear when defined
  std::string note;                      // what was done when the rule was not applicable
};

// Periodic double auction; the book must be valid (Book::validate()).
Clearing clear(const Book& book, PriceRule rule);
// Continuous matching, price-time priority, in book order.
Clearing clear_continuous(const Book& book);

// Welfare of trades, in nano-units (qty_wh x micro/kWh), exact.
int128 welfare_nano(const Book& book, const std::vector<Trade>& trades);

// floor(a / 2) for any sign.
inline int64_t floor_half(int64_t a) {
  return a >= 0 ? a / 2 : -((-a + 1) / 2);
}

}  // namespace gridpact::market
