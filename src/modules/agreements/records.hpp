// The agreements module's records in state: key layout, canonical codecs, and the record
// billing works on. Shared by the module's source files only (records.cpp defines it); the
// module's interface is agreements.hpp.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "codec/codec.hpp"
#include "modules/agreements/agreements.hpp"
#include "modules/agreements/internal.hpp"

namespace gridpact::agreements {

__extension__ using u128 = unsigned __int128;

// a * b / c without intermediate overflow, saturating at UINT64_MAX.
inline uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c) {
  u128 r = static_cast<u128>(a) * b / c;
  return r > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(r);
}
inline uint64_t sat_add(uint64_t a, uint64_t b) {
  return checked_add(a, b).value_or(UINT64_MAX);
}

inline std::string be32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[static_cast<size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
  return s;
}
inline std::string id_key(std::string_view prefix, uint64_t id) {
  return std::string(prefix) + encode_u64(id);
}
inline std::string asset_key(uint64_t id) {
  return id_key("agr/asset/", id);
}
inline std::string premises_key(uint64_t id) {
  return id_key("agr/prem/", id);
}
inline std::string terms_key(uint64_t id) {
  return id_key("agr/terms/", id);
}
inline std::string state_key(uint64_t id) {
  return id_key("agr/agt/", id);
}
inline std::string amend_key(uint64_t id) {
  return id_key("agr/amend/", id);
}
inline std::string payment_key(uint64_t id, uint32_t period) {
  return id_key("agr/pay/", id) + be32(period);
}
inline std::string rated_key(uint64_t id, uint32_t period, const PublicKey& rater) {
  return id_key("agr/rated/", id) + be32(period) + std::string(rater.view());
}
inline std::string rating_key(const PublicKey& a) {
  return account_key("agr/rating/", a);
}
constexpr std::string_view kLogCounter = "agr/logc";
// Log entry kind of a batch of billed periods: (u64 id || u32 period)*, read back as
// LogKind::kBilled entries; at most kBilledBatch per entry.
constexpr uint8_t kBilledBatchKind = 8;
constexpr size_t kBilledBatch = 4096;
constexpr std::string_view kTradeRatedPrefix = "agr/rated-trade/";
// <u8 len><commodity><period u64><index u64>: the trade part of its keys and log entries.
inline std::string trade_part(const TradeRef& t) {
  std::string k(1, static_cast<char>(t.commodity.size()));
  k += t.commodity;
  return k + encode_u64(t.period) + encode_u64(t.index);
}
inline std::string trade_rated_key(const TradeRef& t, const PublicKey& rater) {
  return std::string(kTradeRatedPrefix) + trade_part(t) + std::string(rater.view());
}
// Reads a trade part from the front of `v`, advancing it.
std::optional<TradeRef> read_trade_part(std::string_view& v);

template <typename T>
Result<T> decode_bytes(std::string_view v, T (*fn)(codec::Reader&)) {
  return codec::decode<T>(reinterpret_cast<const uint8_t*>(v.data()), v.size(), fn);
}
inline std::string to_string(const Bytes& b) {
  return {b.begin(), b.end()};
}

// Issues the next id of the counter at `key`.
uint64_t next_id(StateOverlay& s, const std::string& key);
// Throws BAD_LISTING outside the globe (micro-degrees).
void check_lat_lon(int64_t lat, int64_t lon);
std::optional<uint64_t> parse_id(std::string_view s);

// --- Assets and premises: payload = the registration fields; state adds id, owner, use.
void write_asset_fields(codec::Writer& w, const Asset& a);
Asset read_asset_payload(codec::Reader& r);
std::string encode_asset_state(const Asset& a);
Asset read_asset_state(codec::Reader& r);
void write_premises_fields(codec::Writer& w, const Premises& p);
Premises read_premises_payload(codec::Reader& r);
std::string encode_premises_state(const Premises& p);
Premises read_premises_state(codec::Reader& r);

// What billing needs from the terms, the asset and the premises, kept in the agreement's
// record (agr/agt/<id>, after the AgreementState) so that billing a period reads one
// agreements key and decodes no terms, asset or premises. Written when the agreement is
// proposed and when an amendment takes effect (an asset's and a premises' meter never
// change). Fixed-size arrays: no allocation per agreement.
struct Billing {
  uint8_t parties = 0, host = 0, owner = 0;
  std::array<PublicKey, kMaxParties> accounts{};
  uint8_t energy_count = 0, surplus_count = 0;
  std::array<Share, kMaxShares> energy_shares{}, surplus_shares{};
  uint64_t asset = 0;
  Hash32 asset_meter, premises_meter;  // premises_meter zero: none
  uint64_t start_ms = 0, period_ms = 0;
  uint32_t periods = 0;
  uint64_t tariff = 0, instalment = 0, volume_wh = 0, surplus_price = 0;
  uint16_t rebate_bps = 0;
  Disposition disposition = Disposition::kReturnToOwner;
  uint64_t grace_ms = 0;
  uint16_t penalty_bps = 0;
  uint64_t default_ms = 0;
};

// Terms passed validate_terms: parties, shares and roles are in range.
Billing billing_of(const Terms& t, const Hash32& asset_meter, const Hash32& premises_meter);

// agr/agt/<id>: AgreementState || Billing.
struct Record {
  AgreementState st;
  Billing b;
};
std::string encode_record(const AgreementState& st, const Billing& b);
Record read_record(codec::Reader& r);
// The AgreementState alone (queries, the read model): the billing part is skipped.
AgreementState read_state_only(codec::Reader& r);

std::string encode_payment(const Payment& p);
Payment read_payment(codec::Reader& r);
std::string encode_totals(const RatingTotals& t);
AmendPayload read_amend(codec::Reader& r);

// One agreement's record, as billing works on it.
struct Work {
  uint64_t id = 0;
  AgreementState st;
  Billing b;
  uint64_t lag = 0;        // reading_lag_ms
  uint64_t settle_ms = 0;  // meters' settlement period length
};
Result<Work> load_record(const StateReader& s, uint64_t id, uint64_t lag, uint64_t settle_ms);
Result<Work> load_record(const StateReader& s, uint64_t id);

class Log;  // change_log.hpp
void put_asset(StateOverlay& s, const Asset& a, Log& log);
void put_payment(StateOverlay& s, const Payment& p);
void put_state(StateOverlay& s, const Work& w);
void put_state(StateOverlay& s, const Work& w, Log& log);

}  // namespace gridpact::agreements
