#include "modules/market/book_json.hpp"

#include <set>

namespace gridpact::market {
namespace {

using json = nlohmann::json;

// Thrown inside the reader, turned into a Status at parse_book's boundary.
struct BadBook {
  std::string message;
};

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw BadBook{where + ": " + what};
}

int64_t get_int(const json& j, const std::string& where, int64_t min, int64_t max) {
  std::string range = "an integer in " + std::to_string(min) + ".." + std::to_string(max);
  if (j.is_number_unsigned()) {
    auto u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(max) || static_cast<int64_t>(u) < min)
      fail(where, "must be " + range);
    return static_cast<int64_t>(u);
  }
  if (!j.is_number_integer()) fail(where, "must be " + range);
  auto v = j.get<int64_t>();
  if (v < min || v > max) fail(where, "must be " + range);
  return v;
}

std::string get_name(const json& j, const std::string& where) {
  if (!j.is_string()) fail(where, "must be a string");
  auto s = j.get<std::string>();
  if (s.empty() || s.size() > kMaxNameLength) fail(where, "must be 1..128 bytes");
  return s;
}

std::vector<std::string> get_names(const json& j, const std::string& where) {
  if (!j.is_array()) fail(where, "must be an array of strings");
  if (j.size() > kMaxPreferenceList)
    fail(where, "has more than " + std::to_string(kMaxPreferenceList) + " entries");
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i)
    out.push_back(get_name(j[i], where + "[" + std::to_string(i) + "]"));
  return out;
}

void parse_order(Book& book, const json& j, size_t index, std::set<std::string>& ids) {
  std::string where = "orders[" + std::to_string(index) + "]";
  if (!j.is_object()) fail(where, "must be an object");
  if (j.contains("id") && j["id"].is_string())
    where += " (id '" + j["id"].get<std::string>() + "')";
  for (const char* key : {"id", "side", "qty_wh", "price", "account", "microgrid"})
    if (!j.contains(key)) fail(where, std::string("missing key '") + key + "'");
  std::string side = j["side"].is_string() ? j["side"].get<std::string>() : "";
  if (side != "bid" && side != "offer") fail(where, "side must be \"bid\" or \"offer\"");
  static const std::set<std::string> common = {"id",    "side",    "qty_wh",
                                               "price", "account", "microgrid"};
  static const std::set<std::string> offer_keys = {"source", "renewable"};
  static const std::set<std::string> bid_keys = {"renewable_only", "allowed_sources",
                                                 "excluded_sellers", "excluded_microgrids",
                                                 "preferred_sellers"};
  const auto& own = side == "bid" ? bid_keys : offer_keys;
  for (const auto& [key, value] : j.items())
    if (!common.count(key) && !own.count(key))
      fail(where, "unknown key '" + key + "' for " + (side == "bid" ? "a bid" : "an offer"));

  std::string id = get_name(j["id"], where + ".id");
  if (!ids.insert(id).second) fail(where, "duplicate id '" + id + "'");
  Order o;
  o.side = side == "bid" ? Side::kBid : Side::kOffer;
  o.qty_wh = static_cast<uint64_t>(
      get_int(j["qty_wh"], where + ".qty_wh", 1, static_cast<int64_t>(kMaxQtyWh)));
  o.price = get_int(j["price"], where + ".price", -kMaxPrice, kMaxPrice);
  o.account = book.account(get_name(j["account"], where + ".account"));
  o.microgrid = book.microgrid(get_name(j["microgrid"], where + ".microgrid"));
  if (o.side == Side::kOffer) {
    if (!j.contains("source")) fail(where, "missing key 'source'");
    auto name = j["source"].is_string() ? j["source"].get<std::string>() : "";
    auto s = parse_source(name);
    if (!s) fail(where + ".source", "must be one of pv wind hydro biomass battery grid");
    o.source = *s;
    if (j.contains("renewable")) {
      if (!j["renewable"].is_boolean()) fail(where + ".renewable", "must be true or false");
      if (j["renewable"].get<bool>() != is_renewable(*s))
        fail(where + ".renewable", "disagrees with source '" + name + "'");
    }
  } else {
    Preference p;
    if (j.contains("renewable_only")) {
      if (!j["renewable_only"].is_boolean())
        fail(where + ".renewable_only", "must be true or false");
      p.renewable_only = j["renewable_only"].get<bool>();
    }
    if (j.contains("allowed_sources") && !j["allowed_sources"].is_null()) {
      p.allowed_sources = 0;
      for (const auto& name : get_names(j["allowed_sources"], where + ".allowed_sources")) {
        auto s = parse_source(name);
        if (!s)
          fail(where + ".allowed_sources",
               "'" + name + "' is not one of pv wind hydro biomass battery grid");
        p.allowed_sources = static_cast<uint8_t>(p.allowed_sources | (1 << static_cast<int>(*s)));
      }
    }
    if (j.contains("excluded_sellers"))
      for (const auto& a : get_names(j["excluded_sellers"], where + ".excluded_sellers"))
        p.excluded_sellers.push_back(book.account(a));
    if (j.contains("excluded_microgrids"))
      for (const auto& m : get_names(j["excluded_microgrids"], where + ".excluded_microgrids"))
        p.excluded_microgrids.push_back(book.microgrid(m));
    if (j.contains("preferred_sellers"))
      for (const auto& a : get_names(j["preferred_sellers"], where + ".preferred_sellers"))
        p.preferred_sellers.push_back(book.account(a));
    o.preference = book.preference(std::move(p));
  }
  book.add(std::move(id), o);
}

Book parse(const json& doc) {
  if (!doc.is_object()) fail("book", "must be a JSON object");
  for (const auto& [key, value] : doc.items())
    if (key != "meta" && key != "fees" && key != "orders")
      fail("book", "unknown key '" + key + "'");
  if (!doc.contains("fees")) fail("book", "missing key 'fees'");
  if (!doc.contains("orders")) fail("book", "missing key 'orders'");
  Book book;
  const json& fees = doc["fees"];
  if (!fees.is_object()) fail("fees", "must be an object of objects");
  for (const auto& [from, row] : fees.items()) {
    if (!row.is_object()) fail("fees." + from, "must be an object");
    uint32_t a = book.microgrid(get_name(json(from), "fees"));
    for (const auto& [to, fee] : row.items()) {
      uint32_t b = book.microgrid(get_name(json(to), "fees." + from));
      book.set_fee(a, b, get_int(fee, "fees." + from + "." + to, 0, kMaxFee));
    }
  }
  const json& orders = doc["orders"];
  if (!orders.is_array()) fail("orders", "must be an array");
  if (orders.size() > std::numeric_limits<uint32_t>::max() / 2) fail("orders", "too many orders");
  book.reserve(orders.size());
  std::set<std::string> ids;
  for (size_t i = 0; i < orders.size(); ++i) parse_order(book, orders[i], i, ids);
  return book;
}

}  // namespace

Result<Book> parse_book(std::string_view text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    return error(Code::kMalformedJson, std::string("book is not valid JSON: ") + e.what());
  }
  try {
    Book book = parse(doc);
    if (Status s = book.validate(); !s) return s;
    return book;
  } catch (const BadBook& e) {
    return error(Code::kInvalidArgument, e.message);
  }
}

nlohmann::ordered_json book_json(const Book& book) {
  using oj = nlohmann::ordered_json;
  oj fees = oj::object();
  const auto& mgs = book.microgrids();
  for (uint32_t a = 0; a < mgs.size(); ++a)
    for (uint32_t b = 0; b < mgs.size(); ++b)
      if (book.has_fee(a, b)) fees[mgs[a]][mgs[b]] = book.fee(a, b);
  oj orders = oj::array();
  auto names = [&](const std::vector<uint32_t>& v, const std::vector<std::string>& table) {
    oj out = oj::array();
    for (uint32_t i : v) out.push_back(table[i]);
    return out;
  };
  for (size_t i = 0; i < book.orders().size(); ++i) {
    const Order& o = book.orders()[i];
    oj j = {{"id", book.ids()[i]},
            {"side", o.side == Side::kBid ? "bid" : "offer"},
            {"qty_wh", o.qty_wh},
            {"price", o.price},
            {"account", book.accounts()[o.account]},
            {"microgrid", mgs[o.microgrid]}};
    if (o.side == Side::kOffer) {
      j["source"] = source_name(o.source);
    } else {
      const Preference& p = book.preferences()[o.preference];
      if (p.renewable_only) j["renewable_only"] = true;
      if (p.allowed_sources != kAnySource) {
        oj list = oj::array();
        for (int s = 1; s <= 6; ++s)
          if ((p.allowed_sources >> s) & 1) list.push_back(source_name(static_cast<Source>(s)));
        j["allowed_sources"] = list;
      }
      if (!p.excluded_sellers.empty())
        j["excluded_sellers"] = names(p.excluded_sellers, book.accounts());
      if (!p.excluded_microgrids.empty())
        j["excluded_microgrids"] = names(p.excluded_microgrids, mgs);
      if (!p.preferred_sellers.empty())
        j["preferred_sellers"] = names(p.preferred_sellers, book.accounts());
    }
    orders.push_back(std::move(j));
  }
  return {{"meta", {{"schema", "clearing-book/1"}}}, {"fees", fees}, {"orders", orders}};
}

nlohmann::ordered_json trades_json(const Book& book, const Clearing& clearing) {
  using oj = nlohmann::ordered_json;
  oj trades = oj::array();
  for (const Trade& t : clearing.trades) {
    auto q = static_cast<int64_t>(t.qty_wh);
    trades.push_back({{"bid_id", book.ids()[t.bid]},
                      {"offer_id", book.ids()[t.offer]},
                      {"qty_wh", t.qty_wh},
                      {"price", t.price},
                      {"fee", t.fee},
                      {"buyer_pays_nano", q * (t.price + t.fee)},
                      {"seller_gets_nano", q * t.price},
                      {"fee_nano", q * t.fee}});
  }
  oj out = {{"trades", trades}};
  if (!clearing.note.empty()) out["note"] = clearing.note;
  return out;
}

}  // namespace gridpact::market
