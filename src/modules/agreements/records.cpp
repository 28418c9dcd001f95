// The agreements module's records: codecs, lookups and the block change log's reader.
#include "modules/agreements/records.hpp"

#include "modules/agreements/change_log.hpp"
#include "modules/market/market.hpp"

namespace gridpact::agreements {

std::optional<TradeRef> read_trade_part(std::string_view& v) {
  if (v.empty()) return std::nullopt;
  size_t len = static_cast<uint8_t>(v[0]);
  if (len == 0 || len > market::kMaxCommodity || v.size() < 1 + len + 16) return std::nullopt;
  TradeRef t;
  t.commodity = std::string(v.substr(1, len));
  t.period = *decode_u64(v.substr(1 + len, 8));
  t.index = *decode_u64(v.substr(9 + len, 8));
  v.remove_prefix(17 + len);
  return t;
}

uint64_t next_id(StateOverlay& s, const std::string& key) {
  uint64_t id = get_u64(s, key) + 1;
  s.put(key, encode_u64(id));
  return id;
}

void check_lat_lon(int64_t lat, int64_t lon) {
  if (lat < -90'000'000 || lat > 90'000'000 || lon < -180'000'000 || lon > 180'000'000)
    throw Error(kBadListing, "latitude/longitude out of range (micro-degrees)");
}

std::optional<uint64_t> parse_id(std::string_view s) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  return std::stoull(std::string(s));
}

// --- Assets and premises: payload = the registration fields; state adds id, owner, use.

void write_asset_fields(codec::Writer& w, const Asset& a) {
  codec::write_fields(w, a);
}
void read_asset_fields(codec::Reader& r, Asset& a) {
  codec::read_fields(r, a);
}
Asset read_asset_payload(codec::Reader& r) {
  Asset a;
  read_asset_fields(r, a);
  return a;
}
std::string encode_asset_state(const Asset& a) {
  codec::Writer w;
  w.u64(a.id).fixed(a.owner).u64(a.agreement);
  write_asset_fields(w, a);
  return to_string(w.take());
}
Asset read_asset_state(codec::Reader& r) {
  Asset a;
  a.id = r.u64();
  a.owner = r.fixed<32>();
  a.agreement = r.u64();
  read_asset_fields(r, a);
  return a;
}

void write_premises_fields(codec::Writer& w, const Premises& p) {
  codec::write_fields(w, p);
}
void read_premises_fields(codec::Reader& r, Premises& p) {
  codec::read_fields(r, p);
}
Premises read_premises_payload(codec::Reader& r) {
  Premises p;
  read_premises_fields(r, p);
  return p;
}
std::string encode_premises_state(const Premises& p) {
  codec::Writer w;
  w.u64(p.id).fixed(p.host);
  write_premises_fields(w, p);
  return to_string(w.take());
}
Premises read_premises_state(codec::Reader& r) {
  Premises p;
  p.id = r.u64();
  p.host = r.fixed<32>();
  read_premises_fields(r, p);
  return p;
}

// --- Agreement state and payments.

void write_agreement_state(codec::Writer& w, const AgreementState& s) {
  w.u8(static_cast<uint8_t>(s.status))
      .u32(s.signed_mask)
      .u32(s.billed_periods)
      .u32(s.first_unpaid_period);
  w.count(s.arrears.size(), kMaxParties);
  for (uint64_t a : s.arrears) w.u64(a);
  w.u64(s.arrears_since_ms).boolean(s.penalty_applied).u64(s.next_due_ms).u64(s.total_paid);
  w.u64(s.proposed_ms).u64(s.activated_ms).u64(s.closed_ms).fixed(s.terms_hash);
}
AgreementState read_agreement_state(codec::Reader& r) {
  AgreementState s;
  uint8_t st = r.u8();
  if (st > 4) throw Error(Code::kBadEncoding, "bad agreement status");
  s.status = static_cast<Status8>(st);
  s.signed_mask = r.u32();
  s.billed_periods = r.u32();
  s.first_unpaid_period = r.u32();
  s.arrears.resize(r.count(kMaxParties));
  for (auto& a : s.arrears) a = r.u64();
  s.arrears_since_ms = r.u64();
  s.penalty_applied = r.boolean();
  s.next_due_ms = r.u64();
  s.total_paid = r.u64();
  s.proposed_ms = r.u64();
  s.activated_ms = r.u64();
  s.closed_ms = r.u64();
  s.terms_hash = r.fixed<32>();
  return s;
}

// Terms passed validate_terms: parties, shares and roles are in range.
Billing billing_of(const Terms& t, const Hash32& asset_meter, const Hash32& premises_meter) {
  Billing b;
  b.parties = static_cast<uint8_t>(t.parties.size());
  for (size_t i = 0; i < t.parties.size(); ++i) b.accounts[i] = t.parties[i].account;
  b.host = static_cast<uint8_t>(*t.role_index(Role::kHost));
  b.owner = static_cast<uint8_t>(*t.role_index(Role::kOwner));
  b.energy_count = static_cast<uint8_t>(t.energy_shares.size());
  std::copy(t.energy_shares.begin(), t.energy_shares.end(), b.energy_shares.begin());
  b.surplus_count = static_cast<uint8_t>(t.surplus_shares.size());
  std::copy(t.surplus_shares.begin(), t.surplus_shares.end(), b.surplus_shares.begin());
  b.asset = t.asset;
  b.asset_meter = asset_meter;
  b.premises_meter = premises_meter;
  b.start_ms = t.start_ms;
  b.period_ms = t.period_ms;
  b.periods = t.periods;
  b.tariff = t.tariff_micro_per_kwh;
  b.instalment = t.instalment_micro;
  b.volume_wh = t.volume_wh;
  b.surplus_price = t.surplus_price_micro_per_kwh;
  b.rebate_bps = t.rebate_bps;
  b.disposition = t.disposition;
  b.grace_ms = t.grace_ms;
  b.penalty_bps = t.penalty_bps;
  b.default_ms = t.default_ms;
  return b;
}

void write_billing_shares(codec::Writer& w, const std::array<Share, kMaxShares>& shares,
                          uint8_t count) {
  w.u8(count);
  for (size_t i = 0; i < count; ++i) w.u8(shares[i].party).u16(shares[i].bps);
}
uint8_t read_billing_shares(codec::Reader& r, std::array<Share, kMaxShares>& shares,
                            uint8_t parties) {
  uint8_t count = r.u8();
  if (count > kMaxShares) throw Error(Code::kBadEncoding, "too many shares");
  for (size_t i = 0; i < count; ++i) {
    shares[i].party = r.u8();
    shares[i].bps = r.u16();
    if (shares[i].party >= parties) throw Error(Code::kBadEncoding, "share of no party");
  }
  return count;
}
void write_billing(codec::Writer& w, const Billing& b) {
  w.u8(b.parties);
  for (size_t i = 0; i < b.parties; ++i) w.fixed(b.accounts[i]);
  w.u8(b.host).u8(b.owner);
  write_billing_shares(w, b.energy_shares, b.energy_count);
  write_billing_shares(w, b.surplus_shares, b.surplus_count);
  w.u64(b.asset).fixed(b.asset_meter).fixed(b.premises_meter);
  w.u64(b.start_ms).u64(b.period_ms).u32(b.periods);
  w.u64(b.tariff).u64(b.instalment).u64(b.volume_wh).u64(b.surplus_price).u16(b.rebate_bps);
  w.u8(static_cast<uint8_t>(b.disposition)).u64(b.grace_ms).u16(b.penalty_bps).u64(b.default_ms);
}
Billing read_billing(codec::Reader& r) {
  Billing b;
  b.parties = r.u8();
  if (b.parties < 2 || b.parties > kMaxParties) throw Error(Code::kBadEncoding, "bad parties");
  for (size_t i = 0; i < b.parties; ++i) b.accounts[i] = r.fixed<32>();
  b.host = r.u8();
  b.owner = r.u8();
  if (b.host >= b.parties || b.owner >= b.parties)
    throw Error(Code::kBadEncoding, "bad host or owner index");
  b.energy_count = read_billing_shares(r, b.energy_shares, b.parties);
  b.surplus_count = read_billing_shares(r, b.surplus_shares, b.parties);
  b.asset = r.u64();
  b.asset_meter = r.fixed<32>();
  b.premises_meter = r.fixed<32>();
  b.start_ms = r.u64();
  b.period_ms = r.u64();
  b.periods = r.u32();
  b.tariff = r.u64();
  b.instalment = r.u64();
  b.volume_wh = r.u64();
  b.surplus_price = r.u64();
  b.rebate_bps = r.u16();
  uint8_t d = r.u8();
  if (d > 1) throw Error(Code::kBadEncoding, "bad disposition");
  b.disposition = static_cast<Disposition>(d);
  b.grace_ms = r.u64();
  b.penalty_bps = r.u16();
  b.default_ms = r.u64();
  return b;
}

std::string encode_record(const AgreementState& st, const Billing& b) {
  codec::Writer w;
  write_agreement_state(w, st);
  write_billing(w, b);
  return to_string(w.take());
}
Record read_record(codec::Reader& r) {
  Record rec;
  rec.st = read_agreement_state(r);
  rec.b = read_billing(r);
  return rec;
}
// The AgreementState alone (queries, the read model): the billing part is skipped.
AgreementState read_state_only(codec::Reader& r) {
  AgreementState st = read_agreement_state(r);
  (void)read_billing(r);
  return st;
}

std::string encode_payment(const Payment& p) {
  codec::Writer w;
  w.u64(p.agreement).u32(p.period).u64(p.from_ms).u64(p.to_ms).u64(p.generated_wh);
  w.u64(p.surplus_wh).u64(p.billed_wh).u32(p.missing_readings).u64(p.energy_charge).u64(p.rebate);
  w.u64(p.instalment)
      .u64(p.surplus_revenue)
      .u64(p.due)
      .u8(static_cast<uint8_t>(p.status))
      .u64(p.height);
  return to_string(w.take());
}
Payment read_payment(codec::Reader& r) {
  Payment p;
  p.agreement = r.u64();
  p.period = r.u32();
  p.from_ms = r.u64();
  p.to_ms = r.u64();
  p.generated_wh = r.u64();
  p.surplus_wh = r.u64();
  p.billed_wh = r.u64();
  p.missing_readings = r.u32();
  p.energy_charge = r.u64();
  p.rebate = r.u64();
  p.instalment = r.u64();
  p.surplus_revenue = r.u64();
  p.due = r.u64();
  uint8_t st = r.u8();
  if (st > 2) throw Error(Code::kBadEncoding, "bad payment status");
  p.status = static_cast<PaymentStatus>(st);
  p.height = r.u64();
  return p;
}

std::string encode_totals(const RatingTotals& t) {
  return encode_u64(t.count) + encode_u64(t.weight) + encode_u64(t.weighted_sum);
}

// --- Payload codecs.

AmendPayload read_amend(codec::Reader& r) {
  AmendPayload p;
  codec::read_fields(r, p);
  return p;
}

void put_asset(StateOverlay& s, const Asset& a, Log& log) {
  s.put(asset_key(a.id), encode_asset_state(a));
  log.add(LogKind::kAsset, a.id);
}
void put_payment(StateOverlay& s, const Payment& p) {
  s.put(payment_key(p.agreement, p.period), encode_payment(p));
}

void put_state(StateOverlay& s, const Work& w) {
  s.put(state_key(w.id), encode_record(w.st, w.b));
}
void put_state(StateOverlay& s, const Work& w, Log& log) {
  put_state(s, w);
  log.add(LogKind::kAgreement, w.id);
}

Result<Work> load_record(const StateReader& s, uint64_t id, uint64_t lag, uint64_t settle_ms) {
  auto v = s.get(state_key(id));
  if (!v) return error(kAgreementNotFound, "no agreement " + std::to_string(id));
  auto rec = decode_bytes<Record>(*v, read_record);
  if (!rec) return rec.status();
  return Work{id, std::move(rec->st), rec->b, lag, settle_ms};
}
Result<Work> load_record(const StateReader& s, uint64_t id) {
  return load_record(s, id, reading_lag_ms(s), settlement_ms(s));
}

uint64_t AgreementState::arrears_total() const {
  uint64_t t = 0;
  for (uint64_t a : arrears) t = sat_add(t, a);
  return t;
}

std::string_view status_name(Status8 s) {
  switch (s) {
    case Status8::kProposed:
      return "proposed";
    case Status8::kActive:
      return "active";
    case Status8::kEnded:
      return "ended";
    case Status8::kTerminated:
      return "terminated";
    case Status8::kDefaulted:
      return "defaulted";
  }
  return "?";
}

Bytes encode(const Asset& a) {
  codec::Writer w;
  write_asset_fields(w, a);
  return w.take();
}
Bytes encode(const Premises& p) {
  codec::Writer w;
  write_premises_fields(w, p);
  return w.take();
}
Bytes encode(const TransferAssetPayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const SignPayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const AmendPayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const IdPayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const RatePayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const RateTradePayload& p) {
  return codec::encode_fields(p);
}
static_assert(TradeRef::kMaxCommodity == market::kMaxCommodity);

std::string TradeRef::str() const {
  return commodity + "/" + std::to_string(period) + "/" + std::to_string(index);
}
std::optional<TradeRef> TradeRef::parse(std::string_view s) {
  size_t a = s.find('/');
  size_t b = a == std::string_view::npos ? a : s.find('/', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  TradeRef t;
  t.commodity = std::string(s.substr(0, a));
  auto period = parse_id(s.substr(a + 1, b - a - 1));
  auto index = parse_id(s.substr(b + 1));
  if (t.commodity.empty() || t.commodity.size() > market::kMaxCommodity || !period || !index)
    return std::nullopt;
  t.period = *period;
  t.index = *index;
  return t;
}

// The value at `key` decoded by `read`; nullopt when absent or undecodable.
template <typename T>
std::optional<T> find_decoded(const StateReader& s, const std::string& key,
                              T (*read)(codec::Reader&)) {
  auto v = s.get(key);
  if (!v) return std::nullopt;
  auto t = decode_bytes<T>(*v, read);
  return t ? std::optional<T>(std::move(*t)) : std::nullopt;
}

std::optional<Asset> find_asset(const StateReader& s, uint64_t id) {
  return find_decoded(s, asset_key(id), read_asset_state);
}
std::optional<Premises> find_premises(const StateReader& s, uint64_t id) {
  return find_decoded(s, premises_key(id), read_premises_state);
}
std::optional<Terms> find_terms(const StateReader& s, uint64_t id) {
  return find_decoded(s, terms_key(id), read_terms);
}
std::optional<AgreementState> find_agreement(const StateReader& s, uint64_t id) {
  return find_decoded(s, state_key(id), read_state_only);
}
std::optional<Payment> find_payment(const StateReader& s, uint64_t id, uint32_t period) {
  return find_decoded(s, payment_key(id, period), read_payment);
}

std::vector<LogEntry> block_log(const StateReader& s, uint64_t height) {
  std::vector<LogEntry> out;
  s.scan("agr/log/" + encode_u64(height), [&](std::string_view, std::string_view v) {
    if (!v.empty() && v[0] == static_cast<char>(LogKind::kTradeRating)) {
      std::string_view rest = v.substr(1);
      auto t = read_trade_part(rest);
      if (!t || rest.size() != 32) return true;
      LogEntry e;
      e.kind = LogKind::kTradeRating;
      e.trade = *t;
      e.rater = PublicKey::from_span(reinterpret_cast<const uint8_t*>(rest.data()));
      out.push_back(std::move(e));
      return true;
    }
    if (!v.empty() && static_cast<uint8_t>(v[0]) == kBilledBatchKind) {
      for (size_t i = 1; i + 12 <= v.size(); i += 12) {
        LogEntry e;
        e.kind = LogKind::kBilled;
        e.id = *decode_u64(v.substr(i, 8));
        e.period = codec::Reader(v.substr(i + 8, 4)).u32();
        out.push_back(std::move(e));
      }
      return true;
    }
    if (v.size() < 9) return true;
    LogEntry e;
    e.kind = static_cast<LogKind>(v[0]);
    e.id = *decode_u64(v.substr(1, 8));
    if (v.size() >= 13) e.period = codec::Reader(v.substr(9, 4)).u32();
    if (v.size() == 45)
      e.rater = PublicKey::from_span(reinterpret_cast<const uint8_t*>(v.data() + 13));
    out.push_back(e);
    return true;
  });
  return out;
}

}  // namespace gridpact::agreements
