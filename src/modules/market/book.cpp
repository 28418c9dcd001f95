// The clearing book: source and rule names, interned accounts, microgrids and preferences,
// fees between microgrids, validation, and the welfare of a set of trades.
#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <set>
#include <unordered_set>

#include "modules/market/clearing.hpp"

namespace gridpact::market {

namespace {
constexpr std::array<std::string_view, 7> kSourceNames = {"consumer", "pv",      "wind", "hydro",
                                                          "biomass",  "battery", "grid"};
}  // namespace

std::string_view source_name(Source s) {
  return kSourceNames[static_cast<size_t>(s)];
}

std::optional<Source> parse_source(std::string_view name) {
  for (size_t i = 1; i < kSourceNames.size(); ++i)
    if (kSourceNames[i] == name) return static_cast<Source>(i);
  return std::nullopt;
}

std::string_view rule_name(PriceRule r) {
  switch (r) {
    case PriceRule::kPayAsClear:
      return "pay-as-clear";
    case PriceRule::kPayAsBid:
      return "pay-as-bid";
    case PriceRule::kMidpoint:
      return "midpoint";
  }
  return "?";
}

std::optional<PriceRule> parse_rule(std::string_view name) {
  for (auto r : {PriceRule::kPayAsClear, PriceRule::kPayAsBid, PriceRule::kMidpoint})
    if (rule_name(r) == name) return r;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Book

namespace {
uint32_t intern(std::vector<std::string>& names, std::string_view name) {
  // Books have few accounts per microgrid and few microgrids; the linear scan is only for
  // microgrids (accounts go through Book::account's own index below).
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<uint32_t>(i);
  names.emplace_back(name);
  return static_cast<uint32_t>(names.size() - 1);
}
}  // namespace

uint32_t Book::account(std::string_view name) {
  // Accounts can be many (one per order in a large book): index them by hash.
  auto [it, inserted] =
      account_index_.emplace(std::string(name), static_cast<uint32_t>(accounts_.size()));
  if (inserted) accounts_.emplace_back(name);
  return it->second;
}

uint32_t Book::microgrid(std::string_view name) {
  uint32_t i = intern(microgrids_, name);
  if (fees_.size() < microgrids_.size()) {
    for (auto& row : fees_) row.resize(microgrids_.size(), -1);
    fees_.resize(microgrids_.size(), std::vector<int64_t>(microgrids_.size(), -1));
  }
  return i;
}

uint32_t Book::preference(Preference p) {
  auto norm = [](std::vector<uint32_t>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  };
  norm(p.excluded_sellers);
  norm(p.excluded_microgrids);
  norm(p.preferred_sellers);
  for (size_t i = 0; i < preferences_.size(); ++i)
    if (preferences_[i] == p) return static_cast<uint32_t>(i);
  preferences_.push_back(std::move(p));
  return static_cast<uint32_t>(preferences_.size() - 1);
}

void Book::set_fee(uint32_t seller_microgrid, uint32_t buyer_microgrid, int64_t fee) {
  fees_.at(seller_microgrid).at(buyer_microgrid) = fee;
}

void Book::add(std::string id, const Order& o) {
  ids_.push_back(std::move(id));
  orders_.push_back(o);
}

Status Book::validate() const {
  std::unordered_set<std::string_view> seen;
  std::vector<char> used(microgrids_.size(), 0);
  for (size_t i = 0; i < orders_.size(); ++i) {
    const Order& o = orders_[i];
    const std::string& id = ids_[i];
    auto bad = [&](const std::string& what) {
      return error(Code::kInvalidArgument, "order '" + id + "': " + what);
    };
    if (id.empty() || id.size() > kMaxNameLength) return bad("id must be 1..128 bytes");
    if (!seen.insert(id).second) return bad("duplicate id");
    if (o.qty_wh == 0 || o.qty_wh > kMaxQtyWh)
      return bad("qty_wh must be in 1.." + std::to_string(kMaxQtyWh));
    if (o.price < -kMaxPrice || o.price > kMaxPrice)
      return bad("price must be in -" + std::to_string(kMaxPrice) + ".." +
                 std::to_string(kMaxPrice));
    if (o.account >= accounts_.size() || o.microgrid >= microgrids_.size())
      return bad("unknown account or microgrid");
    if (o.side == Side::kOffer) {
      auto s = static_cast<uint8_t>(o.source);
      if (s < 1 || s > 6) return bad("unknown source");
    } else if (o.preference >= preferences_.size()) {
      return bad("unknown preference set");
    }
    used[o.microgrid] = 1;
  }
  for (uint32_t a = 0; a < microgrids_.size(); ++a) {
    if (!used[a]) continue;
    for (uint32_t b = 0; b < microgrids_.size(); ++b) {
      if (!used[b]) continue;
      if (!has_fee(a, b))
        return error(Code::kInvalidArgument,
                     "no fee from microgrid '" + microgrids_[a] + "' to '" + microgrids_[b] + "'");
      if (fees_[a][b] > kMaxFee) return error(Code::kInvalidArgument, "fee out of range");
      if (a == b && fees_[a][b] != 0)
        return error(Code::kInvalidArgument,
                     "fee within microgrid '" + microgrids_[a] + "' must be 0");
    }
  }
  return Status::ok();
}

int128 welfare_nano(const Book& book, const std::vector<Trade>& trades) {
  int128 w = 0;
  for (const auto& t : trades) {
    const Order& b = book.orders()[t.bid];
    const Order& o = book.orders()[t.offer];
    w += static_cast<int128>(t.qty_wh) * (b.price - o.price - t.fee);
  }
  return w;
}

}  // namespace gridpact::market
