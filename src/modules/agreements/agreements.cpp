#include "modules/agreements/agreements.hpp"

#include <array>
#include <cstring>
#include <mutex>
#include <span>

#include "ledger/parallel.hpp"
#include "modules/agreements/internal.hpp"
#include "modules/agreements/match.hpp"
#include "modules/bank/bank.hpp"
#include "modules/market/market.hpp"

namespace gridpact::agreements {

void register_agreements_codes() {
  meters::register_meter_codes();  // kMeterNotFound
  register_codes(kAgreementsCodes);
}

namespace {

__extension__ using u128 = unsigned __int128;

// a * b / c without intermediate overflow, saturating at UINT64_MAX.
uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c) {
  u128 r = static_cast<u128>(a) * b / c;
  return r > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(r);
}
uint64_t sat_add(uint64_t a, uint64_t b) {
  return checked_add(a, b).value_or(UINT64_MAX);
}

std::string be32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[static_cast<size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
  return s;
}
std::string id_key(std::string_view prefix, uint64_t id) {
  return std::string(prefix) + encode_u64(id);
}
std::string asset_key(uint64_t id) {
  return id_key("agr/asset/", id);
}
std::string premises_key(uint64_t id) {
  return id_key("agr/prem/", id);
}
std::string terms_key(uint64_t id) {
  return id_key("agr/terms/", id);
}
std::string state_key(uint64_t id) {
  return id_key("agr/agt/", id);
}
std::string amend_key(uint64_t id) {
  return id_key("agr/amend/", id);
}
std::string payment_key(uint64_t id, uint32_t period) {
  return id_key("agr/pay/", id) + be32(period);
}
std::string rated_key(uint64_t id, uint32_t period, const PublicKey& rater) {
  return id_key("agr/rated/", id) + be32(period) + std::string(rater.view());
}
std::string rating_key(const PublicKey& a) {
  return account_key("agr/rating/", a);
}
constexpr std::string_view kLogCounter = "agr/logc";
// Log entry kind of a batch of billed periods: (u64 id || u32 period)*, read back as
// LogKind::kBilled entries; at most kBilledBatch per entry.
constexpr uint8_t kBilledBatchKind = 8;
constexpr size_t kBilledBatch = 4096;
constexpr std::string_view kTradeRatedPrefix = "agr/rated-trade/";
// <u8 len><commodity><period u64><index u64>: the trade part of its keys and log entries.
std::string trade_part(const TradeRef& t) {
  std::string k(1, static_cast<char>(t.commodity.size()));
  k += t.commodity;
  return k + encode_u64(t.period) + encode_u64(t.index);
}
std::string trade_rated_key(const TradeRef& t, const PublicKey& rater) {
  return std::string(kTradeRatedPrefix) + trade_part(t) + std::string(rater.view());
}
// Reads a trade part from the front of `v`, advancing it.
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

template <typename T>
Result<T> decode_bytes(std::string_view v, T (*fn)(codec::Reader&)) {
  return codec::decode<T>(reinterpret_cast<const uint8_t*>(v.data()), v.size(), fn);
}
std::string to_string(const Bytes& b) {
  return {b.begin(), b.end()};
}

void check_lat_lon(int64_t lat, int64_t lon) {
  if (lat < -90'000'000 || lat > 90'000'000 || lon < -180'000'000 || lon > 180'000'000)
    throw Error(kBadListing, "latitude/longitude out of range (micro-degrees)");
}

// --- Assets and premises: payload = the registration fields; state adds id, owner, use.

// The registration fields are Asset::fields and Premises::fields (agreements.hpp).
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

// agr/agt/<id>: AgreementState || Billing.
struct Record {
  AgreementState st;
  Billing b;
};
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

// Appends to the block's change log; one counter read and write per transaction/block.
class Log {
 public:
  Log(StateOverlay& s, uint64_t height) : s_(s), height_(height) {
    auto v = s.get(kLogCounter);
    if (v && v->size() == 12 && decode_u64(v->substr(0, 8)) == height)
      seq_ = codec::Reader(std::string_view(*v).substr(8)).u32();
  }
  ~Log() {
    flush_billed();
    if (dirty_) s_.put(kLogCounter, encode_u64(height_) + be32(seq_));
  }
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;
  void add_trade_rating(const TradeRef& t, const PublicKey& rater) {
    std::string v(1, static_cast<char>(LogKind::kTradeRating));
    v += trade_part(t);
    v += std::string(rater.view());
    s_.put("agr/log/" + encode_u64(height_) + be32(seq_++), std::move(v));
    dirty_ = true;
  }
  // A billed period (payment and agreement changed). Buffered: a block's billed periods
  // take one log entry per kBilledBatch of them, not one each.
  void billed(uint64_t id, uint32_t period) {
    if (billed_.empty()) billed_.assign(1, static_cast<char>(kBilledBatchKind));
    billed_ += encode_u64(id) + be32(period);
    if ((billed_.size() - 1) / 12 == kBilledBatch) flush_billed();
  }
  void add(LogKind kind, uint64_t id, uint32_t period = 0, const PublicKey* rater = nullptr) {
    std::string v(1, static_cast<char>(kind));
    v += encode_u64(id);
    if (kind == LogKind::kPayment || kind == LogKind::kRating || kind == LogKind::kBilled)
      v += be32(period);
    if (rater) v += std::string(rater->view());
    s_.put("agr/log/" + encode_u64(height_) + be32(seq_++), std::move(v));
    dirty_ = true;
  }

 private:
  void flush_billed() {
    if (billed_.empty()) return;
    s_.put("agr/log/" + encode_u64(height_) + be32(seq_++), std::move(billed_));
    billed_.clear();
    dirty_ = true;
  }
  StateOverlay& s_;
  uint64_t height_;
  uint32_t seq_ = 0;
  bool dirty_ = false;
  std::string billed_;
};

// The due index: agr/due/<time u64><chunk u32> holds up to kDueChunk packed u64 ids of
// agreements due at `time`, agr/duen/<time u64> the u64 number of ids appended for that
// time. Entries are never removed one by one: an agreement rescheduled elsewhere leaves a
// stale entry, skipped when its time comes (its record's next_due_ms differs), and a
// time's chunks are erased together when that time is processed. So rescheduling costs a
// share of a chunk write, not an erase and a put per agreement and period.
constexpr uint64_t kDueChunk = 512;
std::string due_chunk_key(uint64_t time_ms, uint64_t chunk) {
  return "agr/due/" + encode_u64(time_ms) + be32(static_cast<uint32_t>(chunk));
}
std::string due_count_key(uint64_t time_ms) {
  return "agr/duen/" + encode_u64(time_ms);
}
class Due {
 public:
  explicit Due(StateOverlay& s) : s_(s) {}
  ~Due() { flush(); }
  Due(const Due&) = delete;
  Due& operator=(const Due&) = delete;
  void add(uint64_t time_ms, uint64_t id) { pending_[time_ms].push_back(id); }
  void flush() {
    for (const auto& [time, ids] : pending_) {
      std::string count_key = due_count_key(time);
      uint64_t n = get_u64(s_, count_key);
      std::string chunk;
      if (n % kDueChunk) chunk = s_.get(due_chunk_key(time, n / kDueChunk)).value_or("");
      for (uint64_t id : ids) {
        chunk += encode_u64(id);
        if (++n % kDueChunk == 0) {
          s_.put(due_chunk_key(time, n / kDueChunk - 1), std::move(chunk));
          chunk.clear();
        }
      }
      if (n % kDueChunk) s_.put(due_chunk_key(time, n / kDueChunk), std::move(chunk));
      s_.put(count_key, encode_u64(n));
    }
    pending_.clear();
  }

 private:
  StateOverlay& s_;
  std::map<uint64_t, std::vector<uint64_t>> pending_;
};

// What processing an agreement does beyond its own keys: entries of the change log and of
// the due index. Recorded, then applied to the Log and the Due index in order; billing
// shards apply theirs in due order, so the log's sequence numbers and the index's chunks
// are the same however the work was split (see ledger/parallel.hpp).
class Effects {
 public:
  // Tags what is recorded next with the due entry being processed.
  void at(uint32_t entry) { entry_ = entry; }
  void log(LogKind kind, uint64_t id, uint32_t period = 0) {
    items_.push_back({entry_, Op::kLog, kind, period, id, 0});
  }
  void log_billed(uint64_t id, uint32_t period) {
    items_.push_back({entry_, Op::kLogBilled, LogKind::kBilled, period, id, 0});
  }
  void schedule(uint64_t time_ms, uint64_t id) {
    items_.push_back({entry_, Op::kSchedule, LogKind::kAgreement, 0, id, time_ms});
  }
  void apply(Log& log, Due& due) const {
    for (const auto& item : items_) apply(item, log, due);
  }
  // A handler's effects: the due index is written to `s` at once.
  void apply(Log& log, StateOverlay& s) const {
    Due due(s);
    apply(log, due);
  }
  // Applies the effects of shards in entry order: entry e was processed by shard
  // shard_of[e], and each shard recorded its entries in increasing order.
  static void apply_in_order(std::span<const Effects> shards, std::span<const uint8_t> shard_of,
                             Log& log, Due& due) {
    std::vector<size_t> next(shards.size(), 0);
    for (uint32_t e = 0; e < shard_of.size(); ++e) {
      const auto& items = shards[shard_of[e]].items_;
      size_t& i = next[shard_of[e]];
      for (; i < items.size() && items[i].entry == e; ++i) apply(items[i], log, due);
    }
  }

 private:
  enum class Op : uint8_t { kLog, kLogBilled, kSchedule };
  struct Item {
    uint32_t entry;
    Op op;
    LogKind kind;
    uint32_t period;
    uint64_t id, time_ms;
  };
  static void apply(const Item& item, Log& log, Due& due) {
    switch (item.op) {
      case Op::kLog:
        log.add(item.kind, item.id, item.period);
        break;
      case Op::kLogBilled:
        log.billed(item.id, item.period);
        break;
      case Op::kSchedule:
        due.add(item.time_ms, item.id);
        break;
    }
  }
  uint32_t entry_ = 0;
  std::vector<Item> items_;
};

void put_asset(StateOverlay& s, const Asset& a, Log& log) {
  s.put(asset_key(a.id), encode_asset_state(a));
  log.add(LogKind::kAsset, a.id);
}
void put_payment(StateOverlay& s, const Payment& p) {
  s.put(payment_key(p.agreement, p.period), encode_payment(p));
}

// What the block's billing did, for its end-of-block event.
struct BillingTally {
  uint64_t billed = 0, paid = 0, missed = 0, penalties = 0, defaulted = 0, ended = 0;
  uint64_t amount = 0;
  void add(const BillingTally& o) {
    billed += o.billed, paid += o.paid, missed += o.missed, penalties += o.penalties;
    defaulted += o.defaulted, ended += o.ended, amount = sat_add(amount, o.amount);
  }
};

// One agreement's record, as billing works on it.
struct Work {
  uint64_t id = 0;
  AgreementState st;
  Billing b;
  uint64_t lag = 0;        // reading_lag_ms
  uint64_t settle_ms = 0;  // meters' settlement period length
};

void put_state(StateOverlay& s, const Work& w) {
  s.put(state_key(w.id), encode_record(w.st, w.b));
}
void put_state(StateOverlay& s, const Work& w, Log& log) {
  put_state(s, w);
  log.add(LogKind::kAgreement, w.id);
}

uint64_t window_end(const Billing& b, uint32_t k) {
  return b.start_ms + b.period_ms * (k + 1ull);
}
// When period k is billed: its end plus the time its last reading needs to arrive.
uint64_t bill_time(const Billing& b, uint32_t k, uint64_t lag) {
  return sat_add(window_end(b, k), lag);
}

void reschedule(Work& w, Effects& fx) {
  const Billing& b = w.b;
  uint64_t next = UINT64_MAX;
  if (w.st.status == Status8::kActive) {
    if (w.st.billed_periods < b.periods) next = bill_time(b, w.st.billed_periods, w.lag);
    if (w.st.arrears_total() > 0) {
      if (!w.st.penalty_applied && b.penalty_bps > 0)
        next = std::min(next, sat_add(w.st.arrears_since_ms, b.grace_ms));
      if (b.default_ms > 0) next = std::min(next, sat_add(w.st.arrears_since_ms, b.default_ms));
    }
  }
  if (next == UINT64_MAX) next = 0;
  if (next == w.st.next_due_ms) return;
  if (next) fx.schedule(next, w.id);
  w.st.next_due_ms = next;
}

// The asset leaves the agreement: back to its owner, or to the host on a transfer.
void release_asset(StateOverlay& s, const Work& w, bool transfer_to_host, Effects& fx) {
  auto asset = find_asset(s, w.b.asset);
  if (!asset) return;  // cannot happen: assets are never deleted
  asset->agreement = 0;
  if (transfer_to_host) asset->owner = w.b.accounts[w.b.host];
  s.put(asset_key(asset->id), encode_asset_state(*asset));
  fx.log(LogKind::kAsset, asset->id);
}

void close(StateOverlay& s, Work& w, Status8 status, uint64_t now, Effects& fx) {
  w.st.status = status;
  w.st.closed_ms = now;
  release_asset(s, w, status == Status8::kEnded && w.b.disposition == Disposition::kTransferToHost,
                fx);
}

using Owed = std::array<uint64_t, kMaxParties>;

// Splits `amount` by shares into `owed` (rounding remainder to the first share); the
// host's own share stays with the host.
void split(const std::array<Share, kMaxShares>& shares, uint8_t count, uint64_t amount, size_t host,
           Owed& owed) {
  if (amount == 0 || count == 0) return;
  uint64_t given = 0;
  for (size_t i = 0; i < count; ++i) given = sat_add(given, mul_div(amount, shares[i].bps, kBps));
  for (size_t i = 0; i < count; ++i) {
    uint64_t part = mul_div(amount, shares[i].bps, kBps);
    if (i == 0) part = sat_add(part, amount - given);
    if (shares[i].party != host) owed[shares[i].party] = sat_add(owed[shares[i].party], part);
  }
}

// Bills period w.st.billed_periods from meter data and collects payment from the host.
// Returns the period billed.
uint32_t bill_one(StateOverlay& s, Work& w, uint64_t height, BillingTally& tally) {
  const Billing& b = w.b;
  uint32_t k = w.st.billed_periods;
  Payment p;
  p.agreement = w.id;
  p.period = k;
  p.from_ms = b.start_ms + b.period_ms * k;
  p.to_ms = p.from_ms + b.period_ms;
  p.height = height;
  MeteredEnergy gen = metered_energy(s, b.asset_meter, p.from_ms, p.to_ms, w.settle_ms);
  p.generated_wh = gen.export_wh;
  p.missing_readings = gen.missing;
  if (!b.premises_meter.is_zero()) {
    MeteredEnergy conn = metered_energy(s, b.premises_meter, p.from_ms, p.to_ms, w.settle_ms);
    p.surplus_wh = std::min(conn.export_wh, p.generated_wh);
    p.missing_readings += conn.missing;
  }
  uint64_t used = p.generated_wh - p.surplus_wh;
  p.billed_wh = b.volume_wh ? std::min(used, b.volume_wh) : used;
  p.energy_charge = mul_div(p.billed_wh, b.tariff, 1000);
  p.rebate = mul_div(p.energy_charge, b.rebate_bps, kBps);
  p.instalment = b.instalment;
  p.surplus_revenue = mul_div(p.surplus_wh, b.surplus_price, 1000);

  Owed owed{};
  split(b.energy_shares, b.energy_count, p.energy_charge - p.rebate, b.host, owed);
  owed[b.owner] = sat_add(owed[b.owner], p.instalment);
  split(b.surplus_shares, b.surplus_count, p.surplus_revenue, b.host, owed);
  for (size_t i = 0; i < b.parties; ++i) p.due = sat_add(p.due, owed[i]);

  // All or nothing: bank::pay_many checks the payer's funds and every recipient's
  // overflow before moving anything.
  std::array<bank::Payout, kMaxParties> payouts;
  size_t n = 0;
  for (size_t i = 0; i < b.parties; ++i)
    if (owed[i]) payouts[n++] = {b.accounts[i], owed[i]};
  bool paid = bank::pay_many(s, b.accounts[b.host], std::span(payouts.data(), n)).is_ok();
  if (w.st.arrears.size() != b.parties) w.st.arrears.assign(b.parties, 0);
  if (paid) {
    p.status = PaymentStatus::kPaid;
    w.st.total_paid = sat_add(w.st.total_paid, p.due);
    tally.paid++;
    tally.amount = sat_add(tally.amount, p.due);
  } else {
    p.status = PaymentStatus::kMissed;
    if (w.st.arrears_total() == 0) {
      w.st.arrears_since_ms = p.to_ms;
      w.st.first_unpaid_period = k;
      w.st.penalty_applied = false;
    }
    for (size_t i = 0; i < b.parties; ++i) w.st.arrears[i] = sat_add(w.st.arrears[i], owed[i]);
    tally.missed++;
  }
  w.st.billed_periods = k + 1;
  tally.billed++;
  put_payment(s, p);
  return k;
}

// Does everything due for one agreement at `now`, writes its record and logs what
// changed: one kBilled entry (payment row and agreement row) when the last thing done was
// billing a period, else kPayment entries for earlier periods and one kAgreement entry.
// Returns whether anything happened.
bool process(StateOverlay& s, Work& w, uint64_t now, uint64_t height, BillingTally& tally,
             Effects& fx) {
  bool changed = false;
  bool unlogged = false;  // period `last_billed` was billed and is not logged yet
  uint32_t last_billed = 0;
  auto log_billed = [&] {
    if (unlogged) fx.log(LogKind::kPayment, w.id, last_billed);
    unlogged = false;
  };
  const Billing& b = w.b;
  while (w.st.status == Status8::kActive) {
    if (w.st.billed_periods < b.periods && now >= bill_time(b, w.st.billed_periods, w.lag)) {
      log_billed();
      last_billed = bill_one(s, w, height, tally);
      unlogged = true;
      changed = true;
      continue;
    }
    uint64_t arrears = w.st.arrears_total();
    if (arrears > 0 && b.default_ms > 0 && now >= sat_add(w.st.arrears_since_ms, b.default_ms)) {
      log_billed();
      close(s, w, Status8::kDefaulted, now, fx);
      tally.defaulted++;
      changed = true;
      break;
    }
    if (arrears > 0 && !w.st.penalty_applied && b.penalty_bps > 0 &&
        now >= sat_add(w.st.arrears_since_ms, b.grace_ms)) {
      log_billed();
      w.st.arrears[b.owner] = sat_add(w.st.arrears[b.owner], mul_div(arrears, b.penalty_bps, kBps));
      w.st.penalty_applied = true;
      tally.penalties++;
      changed = true;
      continue;
    }
    if (w.st.billed_periods == b.periods && arrears == 0) {
      log_billed();
      close(s, w, Status8::kEnded, now, fx);
      tally.ended++;
      changed = true;
    }
    break;
  }
  reschedule(w, fx);
  if (changed) {
    put_state(s, w);
    if (unlogged)
      fx.log_billed(w.id, last_billed);
    else
      fx.log(LogKind::kAgreement, w.id);
  }
  return changed;
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

// A handler's view: the record and the full terms.
struct Loaded {
  Work w;
  Terms terms;
};
Result<Loaded> load_work(const StateReader& s, uint64_t id) {
  auto w = load_record(s, id);
  if (!w) return w.status();
  auto terms = find_terms(s, id);
  if (!terms) return error(kAgreementNotFound, "no agreement " + std::to_string(id));
  return Loaded{std::move(w.value()), std::move(*terms)};
}

// --- Events (receipt data: the canonical encoding of these fields; JSON derived).

struct AssetEvent {
  static constexpr std::string_view kType = "agreements/asset";
  uint64_t asset = 0;
  PublicKey owner;
  static constexpr auto fields = std::tuple{codec::field("asset", &AssetEvent::asset),
                                            codec::field("owner", &AssetEvent::owner)};
};

struct PremisesEvent {
  static constexpr std::string_view kType = "agreements/premises";
  uint64_t premises = 0;
  PublicKey host;
  static constexpr auto fields = std::tuple{codec::field("premises", &PremisesEvent::premises),
                                            codec::field("host", &PremisesEvent::host)};
};

struct AssetTransferEvent {
  static constexpr std::string_view kType = "agreements/asset-transfer";
  uint64_t asset = 0;
  PublicKey from;
  PublicKey to;
  static constexpr auto fields = std::tuple{codec::field("asset", &AssetTransferEvent::asset),
                                            codec::field("from", &AssetTransferEvent::from),
                                            codec::field("to", &AssetTransferEvent::to)};
};

struct ProposedEvent {
  static constexpr std::string_view kType = "agreements/proposed";
  uint64_t agreement = 0;
  Hash32 terms_hash;
  static constexpr auto fields = std::tuple{codec::field("agreement", &ProposedEvent::agreement),
                                            codec::field("terms_hash", &ProposedEvent::terms_hash)};
};

struct SignedEvent {
  static constexpr std::string_view kType = "agreements/signed";
  uint64_t agreement = 0;
  uint64_t party = 0;
  bool active = false;
  static constexpr auto fields = std::tuple{codec::field("agreement", &SignedEvent::agreement),
                                            codec::field("party", &SignedEvent::party),
                                            codec::field("active", &SignedEvent::active)};
};

struct AmendmentEvent {
  static constexpr std::string_view kType = "agreements/amendment";
  uint64_t agreement = 0;
  Hash32 terms_hash;
  static constexpr auto fields =
      std::tuple{codec::field("agreement", &AmendmentEvent::agreement),
                 codec::field("terms_hash", &AmendmentEvent::terms_hash)};
};

struct AmendmentSignedEvent {
  static constexpr std::string_view kType = "agreements/amendment-signed";
  uint64_t agreement = 0;
  uint64_t party = 0;
  bool amended = false;
  static constexpr auto fields =
      std::tuple{codec::field("agreement", &AmendmentSignedEvent::agreement),
                 codec::field("party", &AmendmentSignedEvent::party),
                 codec::field("amended", &AmendmentSignedEvent::amended)};
};

struct TerminatedEvent {
  static constexpr std::string_view kType = "agreements/terminated";
  uint64_t agreement = 0;
  uint64_t by = 0;
  static constexpr auto fields = std::tuple{codec::field("agreement", &TerminatedEvent::agreement),
                                            codec::field("by", &TerminatedEvent::by)};
};

struct PaidEvent {
  static constexpr std::string_view kType = "agreements/paid";
  uint64_t agreement = 0;
  uint64_t amount = 0;
  static constexpr auto fields = std::tuple{codec::field("agreement", &PaidEvent::agreement),
                                            codec::field("amount", &PaidEvent::amount)};
};

struct ExecutedEvent {
  static constexpr std::string_view kType = "agreements/executed";
  uint64_t agreement = 0;
  uint64_t billed = 0;
  uint64_t paid = 0;
  uint64_t missed = 0;
  uint64_t penalties = 0;
  uint64_t defaulted = 0;
  uint64_t ended = 0;
  uint64_t amount = 0;
  static constexpr auto fields = std::tuple{codec::field("agreement", &ExecutedEvent::agreement),
                                            codec::field("billed", &ExecutedEvent::billed),
                                            codec::field("paid", &ExecutedEvent::paid),
                                            codec::field("missed", &ExecutedEvent::missed),
                                            codec::field("penalties", &ExecutedEvent::penalties),
                                            codec::field("defaulted", &ExecutedEvent::defaulted),
                                            codec::field("ended", &ExecutedEvent::ended),
                                            codec::field("amount", &ExecutedEvent::amount)};
};

struct RatedEvent {
  static constexpr std::string_view kType = "agreements/rated";
  uint64_t agreement = 0;
  uint32_t period = 0;
  PublicKey ratee;
  uint8_t score = 0;
  uint64_t rating = 0;
  static constexpr auto fields = std::tuple{
      codec::field("agreement", &RatedEvent::agreement),
      codec::field("period", &RatedEvent::period), codec::field("ratee", &RatedEvent::ratee),
      codec::field("score", &RatedEvent::score), codec::field("rating", &RatedEvent::rating)};
};

struct RatedTradeEvent {
  static constexpr std::string_view kType = "agreements/rated-trade";
  std::string trade;
  PublicKey ratee;
  uint8_t score = 0;
  uint64_t weight = 0;
  uint64_t rating = 0;
  static constexpr auto fields =
      std::tuple{codec::field("trade", &RatedTradeEvent::trade, codec::max_len(64)),
                 codec::field("ratee", &RatedTradeEvent::ratee),
                 codec::field("score", &RatedTradeEvent::score),
                 codec::field("weight", &RatedTradeEvent::weight),
                 codec::field("rating", &RatedTradeEvent::rating)};
};

struct BillingEvent {
  static constexpr std::string_view kType = "agreements/billing";
  uint64_t billed = 0;
  uint64_t paid = 0;
  uint64_t missed = 0;
  uint64_t penalties = 0;
  uint64_t defaulted = 0;
  uint64_t ended = 0;
  uint64_t amount = 0;
  static constexpr auto fields = std::tuple{codec::field("billed", &BillingEvent::billed),
                                            codec::field("paid", &BillingEvent::paid),
                                            codec::field("missed", &BillingEvent::missed),
                                            codec::field("penalties", &BillingEvent::penalties),
                                            codec::field("defaulted", &BillingEvent::defaulted),
                                            codec::field("ended", &BillingEvent::ended),
                                            codec::field("amount", &BillingEvent::amount)};
};

// --- Handlers.

Status register_asset(TxContext& ctx, Asset a) {
  check_lat_lon(a.lat_e6, a.lon_e6);
  if (a.capacity_w == 0 || a.capacity_w > 1'000'000'000'000ull)
    return error(kBadListing, "capacity must be 1 W to 1 TW");
  if (Status s = check_meter(ctx.state, a.meter, ctx.tx.sender); !s) return s;
  a.id = next_id(ctx.state, "agr/next/asset");
  a.owner = ctx.tx.sender;
  a.agreement = 0;
  Log log(ctx.state, ctx.block.height);
  put_asset(ctx.state, a, log);
  ctx.events.push_back(make_event(AssetEvent{a.id, a.owner}));
  return ok();
}

Status register_premises(TxContext& ctx, Premises p) {
  check_lat_lon(p.lat_e6, p.lon_e6);
  // Bounded so that area * watts-per-m2 cannot overflow in matching.
  if (p.area_m2 == 0 || p.area_m2 > 10'000'000'000ull)
    return error(kBadListing, "area must be 1 m2 to 10000 km2");
  if (!p.meter.is_zero())
    if (Status s = check_meter(ctx.state, p.meter, ctx.tx.sender); !s) return s;
  p.id = next_id(ctx.state, "agr/next/prem");
  p.host = ctx.tx.sender;
  ctx.state.put(premises_key(p.id), encode_premises_state(p));
  Log log(ctx.state, ctx.block.height);
  log.add(LogKind::kPremises, p.id);
  ctx.events.push_back(make_event(PremisesEvent{p.id, p.host}));
  return ok();
}

Status transfer_asset(TxContext& ctx, const TransferAssetPayload& p) {
  auto a = find_asset(ctx.state, p.asset);
  if (!a) return error(kAssetNotFound, "no asset " + std::to_string(p.asset));
  if (a->owner != ctx.tx.sender)
    return error(kNotAssetOwner, "you do not own asset " + std::to_string(p.asset));
  if (a->agreement)
    return error(kAssetInUse, "asset serves agreement " + std::to_string(a->agreement));
  if (p.to == ctx.tx.sender) return error(Code::kInvalidArgument, "transfer to self");
  a->owner = p.to;
  Log log(ctx.state, ctx.block.height);
  put_asset(ctx.state, *a, log);
  ctx.events.push_back(make_event(AssetTransferEvent{p.asset, ctx.tx.sender, p.to}));
  return ok();
}

// State checks shared by proposals and amendments.
Status check_terms_against_state(const StateReader& s, const Terms& t) {
  auto a = find_asset(s, t.asset);
  if (!a) return error(kAssetNotFound, "no asset " + std::to_string(t.asset));
  if (a->owner != t.parties[*t.role_index(Role::kOwner)].account)
    return error(kNotAssetOwner, "the owner party does not own asset " + std::to_string(t.asset));
  if (t.premises) {
    auto p = find_premises(s, t.premises);
    if (!p) return error(kPremisesNotFound, "no premises " + std::to_string(t.premises));
    if (p->host != t.parties[*t.role_index(Role::kHost)].account)
      return error(kBadTerms,
                   "the host party is not the host of premises " + std::to_string(t.premises));
  }
  return ok();
}

// The billing record of terms `t` (check_terms_against_state passed: asset and premises
// exist).
Billing billing_in_state(const StateReader& s, const Terms& t) {
  Hash32 asset_meter, premises_meter;
  if (auto a = find_asset(s, t.asset)) asset_meter = a->meter;
  if (t.premises)
    if (auto p = find_premises(s, t.premises)) premises_meter = p->meter;
  return billing_of(t, asset_meter, premises_meter);
}

Status propose(TxContext& ctx, const Terms& t) {
  auto me = t.party_index(ctx.tx.sender);
  if (!me) return error(kNotAParty, "the proposer must be a party");
  if (Status s = check_terms_against_state(ctx.state, t); !s) return s;
  auto a = find_asset(ctx.state, t.asset);
  if (a->agreement)
    return error(kAssetInUse, "asset serves agreement " + std::to_string(a->agreement));
  Work w;
  w.id = next_id(ctx.state, "agr/next/agt");
  w.st.signed_mask = 1u << *me;
  w.st.proposed_ms = ctx.block.time_ms;
  w.st.terms_hash = terms_hash(t);
  w.st.arrears.assign(t.parties.size(), 0);
  w.b = billing_in_state(ctx.state, t);
  ctx.state.put(terms_key(w.id), to_string(encode_terms(t)));
  Log log(ctx.state, ctx.block.height);
  put_state(ctx.state, w, log);
  ctx.events.push_back(make_event(ProposedEvent{w.id, w.st.terms_hash}));
  return ok();
}

// The index of `sender` among the parties of agreement `id`, or NOT_A_PARTY.
Result<size_t> party_of(const Terms& terms, const PublicKey& sender, uint64_t id) {
  auto me = terms.party_index(sender);
  if (!me) return error(kNotAParty, "you are not a party to agreement " + std::to_string(id));
  return *me;
}

Status sign(TxContext& ctx, const SignPayload& p) {
  auto loaded = load_work(ctx.state, p.agreement);
  if (!loaded) return loaded.status();
  Work& w = loaded.value().w;
  const Terms& terms = loaded.value().terms;
  auto me = party_of(terms, ctx.tx.sender, p.agreement);
  if (!me) return me.status();
  if (w.st.status != Status8::kProposed)
    return error(kWrongStatus, "agreement is " + std::string(status_name(w.st.status)));
  if (w.st.signed_mask & (1u << *me)) return error(kAlreadySigned, "you have signed already");
  if (p.terms_hash != w.st.terms_hash) return error(kTermsHashMismatch, "you signed other terms");
  w.st.signed_mask |= 1u << *me;
  Log log(ctx.state, ctx.block.height);
  SignedEvent ev{p.agreement, *me, false};
  if (w.st.signed_mask == (1u << terms.parties.size()) - 1) {
    // Every party signed: activate, if the asset is still the owner's and free.
    if (Status s = check_terms_against_state(ctx.state, terms); !s) return s;
    auto asset = find_asset(ctx.state, terms.asset);
    if (asset->agreement)
      return error(kAssetInUse, "asset serves agreement " + std::to_string(asset->agreement));
    w.st.status = Status8::kActive;
    w.st.activated_ms = ctx.block.time_ms;
    asset->agreement = p.agreement;
    put_asset(ctx.state, *asset, log);
    Effects fx;
    reschedule(w, fx);
    fx.apply(log, ctx.state);
    ev.active = true;
  }
  put_state(ctx.state, w, log);
  ctx.events.push_back(make_event(ev));
  return ok();
}

Status amend(TxContext& ctx, const AmendPayload& p) {
  auto loaded = load_work(ctx.state, p.agreement);
  if (!loaded) return loaded.status();
  const Work& w = loaded.value().w;
  const Terms& terms = loaded.value().terms;
  auto me = party_of(terms, ctx.tx.sender, p.agreement);
  if (!me) return me.status();
  if (w.st.status != Status8::kActive)
    return error(kWrongStatus, "only an active agreement is amended");
  const Terms& n = p.terms;
  bool same_parties = n.parties.size() == terms.parties.size();
  for (size_t i = 0; same_parties && i < n.parties.size(); ++i)
    same_parties = n.parties[i].account == terms.parties[i].account &&
                   n.parties[i].role == terms.parties[i].role;
  if (!same_parties || n.asset != terms.asset || n.premises != terms.premises ||
      n.start_ms != terms.start_ms || n.period_ms != terms.period_ms)
    return error(kBadTerms, "an amendment keeps the parties, asset, premises, start and period");
  if (n.periods < w.st.billed_periods)
    return error(kBadTerms, "cannot shorten below the periods billed");
  std::string v = to_string(encode_terms(n));
  v += be32(1u << *me);
  ctx.state.put(amend_key(p.agreement), std::move(v));
  ctx.events.push_back(make_event(AmendmentEvent{p.agreement, terms_hash(n)}));
  return ok();
}

Status sign_amendment(TxContext& ctx, const SignPayload& p) {
  auto loaded = load_work(ctx.state, p.agreement);
  if (!loaded) return loaded.status();
  Work& w = loaded.value().w;
  const Terms& terms = loaded.value().terms;
  auto me = party_of(terms, ctx.tx.sender, p.agreement);
  if (!me) return me.status();
  if (w.st.status != Status8::kActive) return error(kWrongStatus, "agreement is not active");
  auto raw = ctx.state.get(amend_key(p.agreement));
  if (!raw || raw->size() < 4) return error(kNoAmendment, "no pending amendment");
  Bytes terms_bytes(raw->begin(), raw->end() - 4);
  uint32_t mask = codec::Reader(std::string_view(*raw).substr(raw->size() - 4)).u32();
  auto n = decode_terms(terms_bytes);
  if (!n) return n.status();
  if (terms_hash(*n) != p.terms_hash) return error(kTermsHashMismatch, "you signed other terms");
  if (mask & (1u << *me)) return error(kAlreadySigned, "you have signed this amendment");
  mask |= 1u << *me;
  Log log(ctx.state, ctx.block.height);
  AmendmentSignedEvent ev{p.agreement, *me, false};
  if (mask == (1u << terms.parties.size()) - 1) {
    // Same asset and premises (amend checks it), so the same meters.
    w.b = billing_of(*n, w.b.asset_meter, w.b.premises_meter);
    w.st.terms_hash = p.terms_hash;
    ctx.state.put(terms_key(p.agreement), to_string(terms_bytes));
    ctx.state.erase(amend_key(p.agreement));
    BillingTally tally;
    Effects fx;
    bool changed = process(ctx.state, w, ctx.block.time_ms, ctx.block.height, tally, fx);
    fx.apply(log, ctx.state);
    if (!changed) put_state(ctx.state, w, log);
    ev.amended = true;
  } else {
    std::string v = to_string(terms_bytes);
    v += be32(mask);
    ctx.state.put(amend_key(p.agreement), std::move(v));
  }
  ctx.events.push_back(make_event(ev));
  return ok();
}

Status terminate(TxContext& ctx, const IdPayload& p) {
  auto loaded = load_work(ctx.state, p.agreement);
  if (!loaded) return loaded.status();
  Work& w = loaded.value().w;
  const Terms& terms = loaded.value().terms;
  auto me = party_of(terms, ctx.tx.sender, p.agreement);
  if (!me) return me.status();
  Log log(ctx.state, ctx.block.height);
  if (w.st.status == Status8::kProposed) {  // any party withdraws a proposal
    w.st.status = Status8::kTerminated;
    w.st.closed_ms = ctx.block.time_ms;
  } else if (w.st.status == Status8::kActive) {
    Role role = terms.parties[*me].role;
    if (role != Role::kOwner && role != Role::kHost)
      return error(kNotAParty, "only the owner or the host ends an agreement early");
    Role other = role == Role::kOwner ? Role::kHost : Role::kOwner;
    if (terms.termination_fee_micro)
      if (Status s = bank::transfer(ctx.state, ctx.tx.sender,
                                    terms.parties[*terms.role_index(other)].account,
                                    terms.termination_fee_micro);
          !s)
        return s;
    Effects fx;
    close(ctx.state, w, Status8::kTerminated, ctx.block.time_ms, fx);
    reschedule(w, fx);
    fx.apply(log, ctx.state);
  } else {
    return error(kWrongStatus, "agreement is " + std::string(status_name(w.st.status)));
  }
  put_state(ctx.state, w, log);
  ctx.events.push_back(make_event(TerminatedEvent{p.agreement, *me}));
  return ok();
}

Status pay(TxContext& ctx, const IdPayload& p) {
  auto loaded = load_work(ctx.state, p.agreement);
  if (!loaded) return loaded.status();
  Work& w = loaded.value().w;
  const Terms& terms = loaded.value().terms;
  auto me = party_of(terms, ctx.tx.sender, p.agreement);
  if (!me) return me.status();
  if (terms.parties[*me].role != Role::kHost)
    return error(kNotAParty, "only the host owes payments");
  uint64_t total = w.st.arrears_total();
  if (total == 0) return error(kNoArrears, "nothing is owed");
  if (bank::balance(ctx.state, ctx.tx.sender) < total)
    return error(Code::kInsufficientFunds,
                 "arrears are " + std::to_string(total) + ", balance " +
                     std::to_string(bank::balance(ctx.state, ctx.tx.sender)));
  for (size_t i = 0; i < w.st.arrears.size(); ++i)
    if (w.st.arrears[i])
      if (Status s =
              bank::transfer(ctx.state, ctx.tx.sender, terms.parties[i].account, w.st.arrears[i]);
          !s)
        return s;
  Log log(ctx.state, ctx.block.height);
  for (uint32_t k = w.st.first_unpaid_period; k < w.st.billed_periods; ++k) {
    auto pm = find_payment(ctx.state, p.agreement, k);
    if (pm && pm->status == PaymentStatus::kMissed) {
      pm->status = PaymentStatus::kPaidLate;
      put_payment(ctx.state, *pm);
      log.add(LogKind::kPayment, pm->agreement, pm->period);
    }
  }
  w.st.arrears.assign(w.st.arrears.size(), 0);
  w.st.penalty_applied = false;
  w.st.total_paid = sat_add(w.st.total_paid, total);
  BillingTally tally;
  Effects fx;
  bool changed = process(ctx.state, w, ctx.block.time_ms, ctx.block.height, tally, fx);
  fx.apply(log, ctx.state);
  if (!changed) put_state(ctx.state, w, log);
  ctx.events.push_back(make_event(PaidEvent{p.agreement, total}));
  return ok();
}

Status execute(TxContext& ctx, const IdPayload& p) {
  auto loaded = load_work(ctx.state, p.agreement);
  if (!loaded) return loaded.status();
  Work& w = loaded.value().w;
  if (auto me = party_of(loaded.value().terms, ctx.tx.sender, p.agreement); !me) return me.status();
  if (w.st.status != Status8::kActive)
    return error(kWrongStatus, "agreement is " + std::string(status_name(w.st.status)));
  if (ctx.block.time_ms < w.b.start_ms)
    return error(kNotStarted, "the term starts at " + std::to_string(w.b.start_ms) +
                                  " ms, now is " + std::to_string(ctx.block.time_ms));
  Log log(ctx.state, ctx.block.height);
  BillingTally tally;
  Effects fx;
  if (!process(ctx.state, w, ctx.block.time_ms, ctx.block.height, tally, fx))
    return error(kNothingDue, "no billing period has ended yet");
  fx.apply(log, ctx.state);
  ctx.events.push_back(
      make_event(ExecutedEvent{p.agreement, tally.billed, tally.paid, tally.missed, tally.penalties,
                               tally.defaulted, tally.ended, tally.amount}));
  return ok();
}

// A score's weight: the settled value in whole units, + 1 (so that a rating of a period or
// trade that moved no money still counts), bounded.
uint64_t rating_weight(uint64_t settled_micro) {
  return std::min<uint64_t>(settled_micro / 1'000'000 + 1, 1'000'000'000);
}

Status rate(TxContext& ctx, const RatePayload& p) {
  auto terms = find_terms(ctx.state, p.agreement);
  if (!terms) return error(kAgreementNotFound, "no agreement " + std::to_string(p.agreement));
  auto me = party_of(*terms, ctx.tx.sender, p.agreement);
  if (!me) return me.status();
  Role role = terms->parties[*me].role;
  if (role != Role::kOwner && role != Role::kHost)
    return error(kNoSettledInteraction, "only the owner and the host rate each other");
  auto pm = find_payment(ctx.state, p.agreement, p.period);
  if (!pm || pm->status == PaymentStatus::kMissed || pm->due == 0)
    return error(kNoSettledInteraction,
                 "period " + std::to_string(p.period) + " has not been settled");
  std::string rk = rated_key(p.agreement, p.period, ctx.tx.sender);
  if (ctx.state.get(rk)) return error(kAlreadyRated, "you rated this period already");
  const PublicKey& ratee =
      terms->parties[*terms->role_index(role == Role::kOwner ? Role::kHost : Role::kOwner)].account;
  RatingTotals t = rating_totals(ctx.state, ratee);
  uint64_t weight = rating_weight(pm->due);
  t.count++;
  t.weight = sat_add(t.weight, weight);
  t.weighted_sum = sat_add(t.weighted_sum, weight * p.score);
  ctx.state.put(rating_key(ratee), encode_totals(t));
  ctx.state.put(rk, std::string(1, static_cast<char>(p.score)));
  Log log(ctx.state, ctx.block.height);
  log.add(LogKind::kRating, p.agreement, p.period, &ctx.tx.sender);
  ctx.events.push_back(
      make_event(RatedEvent{p.agreement, p.period, ratee, p.score, rating_milli(t)}));
  return ok();
}

Status rate_trade(TxContext& ctx, const RateTradePayload& p) {
  auto t = market::find_trade(ctx.state, p.trade.commodity, p.trade.period, p.trade.index);
  if (!t) return error(kTradeNotFound, "no trade " + p.trade.str());
  const PublicKey& me = ctx.tx.sender;
  if (me != t->buyer && me != t->seller)
    return error(kNotAParty, "you are neither the buyer nor the seller of trade " + p.trade.str());
  if (t->buyer == t->seller)
    return error(kNoSettledInteraction, "trade " + p.trade.str() + " has no counterparty");
  if (!t->settled)
    return error(kNoSettledInteraction,
                 "trade " + p.trade.str() + ": its period has not been settled");
  std::string rk = trade_rated_key(p.trade, me);
  if (ctx.state.get(rk)) return error(kAlreadyRated, "you rated this trade already");
  const PublicKey& ratee = me == t->buyer ? t->seller : t->buyer;
  uint64_t weight = rating_weight(t->settled_micro);
  RatingTotals totals = rating_totals(ctx.state, ratee);
  totals.count++;
  totals.weight = sat_add(totals.weight, weight);
  totals.weighted_sum = sat_add(totals.weighted_sum, weight * p.score);
  ctx.state.put(rating_key(ratee), encode_totals(totals));
  ctx.state.put(rk, std::string(1, static_cast<char>(p.score)) + std::string(ratee.view()) +
                        encode_u64(weight));
  Log log(ctx.state, ctx.block.height);
  log.add_trade_rating(p.trade, me);
  ctx.events.push_back(
      make_event(RatedTradeEvent{p.trade.str(), ratee, p.score, weight, rating_milli(totals)}));
  return ok();
}

std::optional<uint64_t> parse_id(std::string_view s) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  return std::stoull(std::string(s));
}

}  // namespace

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

uint64_t rating_milli(const RatingTotals& t) {
  u128 num = static_cast<u128>(kPriorWeight) * 3000 + static_cast<u128>(t.weighted_sum) * 1000;
  u128 den = static_cast<u128>(kPriorWeight) + t.weight;
  return static_cast<uint64_t>(num / den);
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

std::optional<TradeRating> find_trade_rating(const StateReader& s, const TradeRef& trade,
                                             const PublicKey& rater) {
  auto v = s.get(trade_rated_key(trade, rater));
  if (!v || v->size() != 41) return std::nullopt;
  return TradeRating{static_cast<uint8_t>((*v)[0]),
                     PublicKey::from_span(reinterpret_cast<const uint8_t*>(v->data() + 1)),
                     *decode_u64(std::string_view(*v).substr(33))};
}

void scan_trade_ratings(
    const StateReader& s,
    const std::function<bool(const TradeRef&, const PublicKey& rater, const TradeRating&)>& fn) {
  s.scan(kTradeRatedPrefix, [&](std::string_view k, std::string_view v) {
    k.remove_prefix(kTradeRatedPrefix.size());
    auto t = read_trade_part(k);
    if (!t || k.size() != 32 || v.size() != 41) return true;
    PublicKey rater = PublicKey::from_span(reinterpret_cast<const uint8_t*>(k.data()));
    TradeRating r{static_cast<uint8_t>(v[0]),
                  PublicKey::from_span(reinterpret_cast<const uint8_t*>(v.data() + 1)),
                  *decode_u64(v.substr(33))};
    return fn(*t, rater, r);
  });
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
RatingTotals rating_totals(const StateReader& s, const PublicKey& account) {
  auto v = s.get(rating_key(account));
  if (!v || v->size() != 24) return {};
  std::string_view sv(*v);
  return {*decode_u64(sv.substr(0, 8)), *decode_u64(sv.substr(8, 8)),
          *decode_u64(sv.substr(16, 8))};
}
std::optional<uint8_t> find_rating(const StateReader& s, uint64_t agreement, uint32_t period,
                                   const PublicKey& rater) {
  auto v = s.get(rated_key(agreement, period, rater));
  if (!v || v->size() != 1) return std::nullopt;
  return static_cast<uint8_t>((*v)[0]);
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

json asset_json(const Asset& a) {
  return {{"id", a.id},
          {"owner", a.owner.hex()},
          {"type", type_name(a.type)},
          {"capacity_w", a.capacity_w},
          {"meter", a.meter.hex()},
          {"microgrid", a.microgrid},
          {"lat_e6", a.lat_e6},
          {"lon_e6", a.lon_e6},
          {"price_micro_per_kwh", a.price_micro_per_kwh},
          {"agreement", a.agreement},
          {"listed", a.agreement == 0},
          {"name", a.name}};
}
json premises_json(const Premises& p) {
  json types = json::array();
  for (uint8_t i = 1; i <= 5; ++i)
    if (p.preferred_types & (1u << i)) types.push_back(type_name(static_cast<AssetType>(i)));
  return {{"id", p.id},
          {"host", p.host.hex()},
          {"area_m2", p.area_m2},
          {"lat_e6", p.lat_e6},
          {"lon_e6", p.lon_e6},
          {"microgrid", p.microgrid},
          {"preferred_types", types},
          {"expected_consumption_wh", p.expected_consumption_wh},
          {"meter", p.meter.is_zero() ? "" : p.meter.hex()},
          {"name", p.name}};
}
json agreement_json(const Terms& t, const AgreementState& st) {
  json signed_by = json::array();
  for (size_t i = 0; i < t.parties.size(); ++i)
    if (st.signed_mask & (1u << i)) signed_by.push_back(i);
  return {{"status", status_name(st.status)},
          {"terms_hash", st.terms_hash.hex()},
          {"terms", terms_json(t)},
          {"signed_by", signed_by},
          {"billed_periods", st.billed_periods},
          {"arrears", st.arrears},
          {"arrears_total", st.arrears_total()},
          {"arrears_since_ms", st.arrears_since_ms},
          {"penalty_applied", st.penalty_applied},
          {"next_due_ms", st.next_due_ms},
          {"total_paid", st.total_paid},
          {"proposed_ms", st.proposed_ms},
          {"activated_ms", st.activated_ms},
          {"closed_ms", st.closed_ms}};
}
json payment_json(const Payment& p) {
  static const char* kStatus[] = {"paid", "missed", "paid_late"};
  return {{"agreement", p.agreement},
          {"period", p.period},
          {"from_ms", p.from_ms},
          {"to_ms", p.to_ms},
          {"generated_wh", p.generated_wh},
          {"surplus_wh", p.surplus_wh},
          {"billed_wh", p.billed_wh},
          {"missing_readings", p.missing_readings},
          {"energy_charge", p.energy_charge},
          {"rebate", p.rebate},
          {"instalment", p.instalment},
          {"surplus_revenue", p.surplus_revenue},
          {"due", p.due},
          {"status", kStatus[static_cast<int>(p.status)]},
          {"height", p.height}};
}

namespace {

Status check_score(uint8_t score) {
  return score >= 1 && score <= 5 ? ok() : error(kBadScore, "a score is 1 to 5");
}
Result<Asset> decode_asset_payload(const Bytes& b) {
  return codec::decode<Asset>(b.data(), b.size(), read_asset_payload);
}
Result<Premises> decode_premises_payload(const Bytes& b) {
  return codec::decode<Premises>(b.data(), b.size(), read_premises_payload);
}
json asset_payload_json(const Asset& a) {
  json j = asset_json(a);
  j.erase("id"), j.erase("owner"), j.erase("agreement"), j.erase("listed");
  return j;
}
json premises_payload_json(const Premises& p) {
  json j = premises_json(p);
  j.erase("id"), j.erase("host");
  return j;
}

}  // namespace

AgreementsModule::AgreementsModule(size_t billing_workers) : billing_workers_(billing_workers) {
  register_agreements_codes();
  message(kRegisterAsset, "agreements/register-asset",
          +[](TxContext& ctx, const Asset& a) { return register_asset(ctx, a); },
          {.view = asset_payload_json, .decode = decode_asset_payload});
  message(kTransferAsset, "agreements/transfer-asset", transfer_asset);
  message(kRegisterPremises, "agreements/register-premises",
          +[](TxContext& ctx, const Premises& p) { return register_premises(ctx, p); },
          {.view = premises_payload_json, .decode = decode_premises_payload});
  message(kPropose, "agreements/propose", propose,
          {.check = [](const Transaction&, const Terms& t) { return validate_terms(t); },
           .view = [](const Terms& t) -> json {
             return {{"terms", terms_json(t)}, {"terms_hash", terms_hash(t).hex()}};
           },
           .decode = decode_terms});
  message(kSign, "agreements/sign", sign);
  message(
      kAmend, "agreements/amend", amend,
      {.check = [](const Transaction&, const AmendPayload& p) { return validate_terms(p.terms); },
       .view = [](const AmendPayload& p) -> json {
         return {{"agreement", p.agreement},
                 {"terms", terms_json(p.terms)},
                 {"terms_hash", terms_hash(p.terms).hex()}};
       },
       .decode =
           [](const Bytes& b) {
             return codec::decode<AmendPayload>(b.data(), b.size(), read_amend);
           }});
  message(kSignAmendment, "agreements/sign-amendment", sign_amendment);
  message(kTerminate, "agreements/terminate", terminate);
  message(kPay, "agreements/pay", pay);
  message(kExecute, "agreements/execute", execute);
  message(kRate, "agreements/rate", rate,
          {.check = [](const Transaction&, const RatePayload& p) { return check_score(p.score); }});
  message(kRateTrade, "agreements/rate-trade", rate_trade,
          {.check =
               [](const Transaction&, const RateTradePayload& p) {
                 if (p.trade.commodity.empty()) return error(Code::kBadEncoding, "empty commodity");
                 return check_score(p.score);
               },
           .view = [](const RateTradePayload& p) -> json {
             return {{"trade", p.trade.str()}, {"score", p.score}};
           }});
  event<AssetEvent>();
  event<PremisesEvent>();
  event<AssetTransferEvent>();
  event<ProposedEvent>();
  event<SignedEvent>();
  event<AmendmentEvent>();
  event<AmendmentSignedEvent>();
  event<TerminatedEvent>();
  event<PaidEvent>();
  event<ExecutedEvent>();
  event<RatedEvent>();
  event<RatedTradeEvent>();
  event<BillingEvent>();
}

std::vector<state::SchemaEntry> AgreementsModule::schema() const {
  return {{"agr/next/", "{asset,prem,agt}", "u64 last id issued"},
          {"agr/asset/", "<id>", "Asset"},
          {"agr/prem/", "<id>", "Premises"},
          {"agr/terms/", "<id>", "Terms"},
          {"agr/agt/", "<id>", "AgreementState, then the billing record"},
          {"agr/amend/", "<id>", "pending amendment: Terms"},
          {"agr/due/", "<time u64><chunk u32>", "packed u64 ids"},
          {"agr/duen/", "<time u64>", "u64 number of ids"},
          {"agr/pay/", "<id><period>", "Payment"},
          {"agr/rated/", "<id><period><rater pk>", "u8 score"},
          {"agr/rating/", "<pk>", "RatingTotals"},
          {std::string(kTradeRatedPrefix), "<u8 len><commodity><period u64><index u64><rater pk>",
           "u8 score || ratee pk || u64 weight"},
          {"agr/log/", "<height u64><seq u32>", "u8 kind"},
          {std::string(kLogCounter), "", "u64 height || u32 next seq"}};
}

Status AgreementsModule::init_genesis(StateOverlay&, const json& section) {
  if (!section.is_object()) return error(Code::kBadGenesis, "[agreements] must be a table");
  return ok();
}

namespace {

// A due-index entry whose time has come.
struct DueEntry {
  uint64_t time, id;
};

// Due entries billed per round: bounds the records held in memory at once.
constexpr size_t kBillingRound = 1 << 16;
// Below this many entries one thread does the work (threads cost more than they save).
constexpr size_t kMinParallelEntries = 512;

// Processes due entries in order, in shards on several threads (see ledger/parallel.hpp).
// Entries that share an agreement, an asset or an account are in the same shard, so the
// shards write disjoint keys: payments, agreement and asset records, balances. The log and
// the due index, which every entry appends to, are written afterwards in entry order.
void process_due(StateOverlay& state, std::span<const DueEntry> due, size_t workers, uint64_t now,
                 uint64_t height, BillingTally& tally, Log& log, Due& index) {
  const size_t n = due.size();
  const size_t shards = n < kMinParallelEntries ? 1 : workers;
  uint64_t lag = reading_lag_ms(state), settle_ms = settlement_ms(state);

  // The plan needs each record's asset and accounts: records are read in parallel first,
  // and only those kept (a decoded record is ten times bigger, and fresh memory is dear).
  // Each shard reads its records again when it bills them, from the state cache.
  constexpr size_t kTags = 2 + kMaxParties;
  std::vector<std::array<uint64_t, kTags>> tags(shards > 1 ? n : 0);
  std::vector<uint8_t> tag_count(tags.size(), 0);
  if (shards > 1)
    run_parallel(shards, [&](size_t shard) {
      for (size_t e = shard; e < n; e += shards) {
        tags[e][tag_count[e]++] = number_tag(1, due[e].id);
        auto w = load_record(state, due[e].id, lag, settle_ms);
        if (!w) continue;
        const Billing& b = w->b;
        tags[e][tag_count[e]++] = number_tag(2, b.asset);
        for (size_t i = 0; i < b.parties; ++i)
          std::memcpy(&tags[e][tag_count[e]++], b.accounts[i].bytes.data(), sizeof(uint64_t));
      }
    });
  auto plan = shards > 1
                  ? plan_shards(n, shards,
                                [&](size_t e, std::vector<uint64_t>& out) {
                                  out.assign(tags[e].begin(), tags[e].begin() + tag_count[e]);
                                })
                  : std::vector<uint8_t>(n, 0);
  tags = {};

  // Shards write into overlays of their own; one shard alone writes into `state`.
  std::vector<std::unique_ptr<StateOverlay>> writes(shards);
  std::vector<Effects> effects(shards);
  std::vector<BillingTally> tallies(shards);
  run_parallel(shards, [&](size_t shard) {
    if (shards > 1) {
      writes[shard] = std::make_unique<StateOverlay>(state);
      writes[shard]->reserve(4 * n / shards);  // about 4 writes per agreement
    }
    StateOverlay& s = shards > 1 ? *writes[shard] : state;
    for (uint32_t e = 0; e < n; ++e) {
      if (plan[e] != shard) continue;
      const auto& [time, id] = due[e];
      effects[shard].at(e);
      auto loaded = load_record(s, id, lag, settle_ms);
      // Stale: rescheduled since this entry was made (or processed already this block).
      if (!loaded || loaded->st.next_due_ms != time) continue;
      Work& w = loaded.value();
      process(s, w, now, height, tallies[shard], effects[shard]);
      // Its time's chunks are gone: keep it indexed if nothing moved it (cannot happen:
      // whatever made it due was done).
      if (w.st.next_due_ms == time) effects[shard].schedule(time, id);
    }
  });
  if (shards > 1) state.adopt(std::move(writes));
  Effects::apply_in_order(effects, plan, log, index);
  for (const auto& t : tallies) tally.add(t);
}

}  // namespace

void AgreementsModule::end_block(BlockContext& ctx) {
  // Every due-index entry whose time has come, in (time, arrival) order; their chunks go.
  std::vector<DueEntry> due;
  std::vector<std::string> done;
  uint64_t last_time = UINT64_MAX;
  ctx.state.scan("agr/due/", [&](std::string_view k, std::string_view v) {
    if (k.size() != 20) return true;
    uint64_t time = *decode_u64(k.substr(8, 8));
    if (time > ctx.block.time_ms) return false;
    for (size_t i = 0; i + 8 <= v.size(); i += 8)
      due.push_back({time, *decode_u64(v.substr(i, 8))});
    done.emplace_back(k);
    if (time != last_time) done.push_back(due_count_key(time));
    last_time = time;
    return true;
  });
  if (due.empty() && done.empty()) return;
  for (const auto& k : done) ctx.state.erase(k);
  BillingTally tally;
  {
    Log log(ctx.state, ctx.block.height);
    Due index(ctx.state);
    for (size_t from = 0; from < due.size(); from += kBillingRound)
      process_due(ctx.state,
                  std::span(due).subspan(from, std::min(kBillingRound, due.size() - from)),
                  billing_workers_ ? billing_workers_ : worker_count(), ctx.block.time_ms,
                  ctx.block.height, tally, log, index);
  }
  if (tally.billed + tally.penalties + tally.defaulted + tally.ended > 0)
    ctx.events.push_back(
        make_event(BillingEvent{tally.billed, tally.paid, tally.missed, tally.penalties,
                                tally.defaulted, tally.ended, tally.amount}));
}

std::vector<std::string> AgreementsModule::account_keys(const PublicKey& account) const {
  return {rating_key(account)};
}

Result<json> AgreementsModule::query(const StateReader& s, std::string_view path,
                                     const json& params) const {
  auto split_path =
      [&](std::string_view prefix) -> std::optional<std::pair<uint64_t, std::string_view>> {
    if (!path.starts_with(prefix)) return std::nullopt;
    std::string_view rest = path.substr(prefix.size());
    size_t slash = rest.find('/');
    auto id = parse_id(rest.substr(0, slash));
    if (!id) return std::nullopt;
    return std::pair{*id,
                     slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1)};
  };
  if (auto p = split_path("assets/")) {
    auto a = find_asset(s, p->first);
    if (!a) return error(kAssetNotFound, "no asset " + std::to_string(p->first));
    json j = asset_json(*a);
    j["owner_rating"] = rating_milli(rating_totals(s, a->owner));
    return j;
  }
  if (auto p = split_path("premises/")) {
    auto pr = find_premises(s, p->first);
    if (!pr) return error(kPremisesNotFound, "no premises " + std::to_string(p->first));
    json j = premises_json(*pr);
    j["host_rating"] = rating_milli(rating_totals(s, pr->host));
    return j;
  }
  if (auto p = split_path("agreements/")) {
    auto t = find_terms(s, p->first);
    auto st = find_agreement(s, p->first);
    if (!t || !st) return error(kAgreementNotFound, "no agreement " + std::to_string(p->first));
    if (p->second.empty()) {
      json j = agreement_json(*t, *st);
      j["id"] = p->first;
      if (auto raw = s.get(amend_key(p->first)); raw && raw->size() > 4)
        if (auto n = decode_terms(Bytes(raw->begin(), raw->end() - 4)))
          j["pending_amendment"] = {{"terms", terms_json(*n)},
                                    {"terms_hash", terms_hash(*n).hex()}};
      return j;
    }
    if (p->second == "text")
      return json{{"terms_hash", st->terms_hash.hex()}, {"text", render_terms(*t, st->terms_hash)}};
    if (p->second == "payments") {
      json out = json::array();
      s.scan(id_key("agr/pay/", p->first), [&](std::string_view, std::string_view v) {
        if (auto pm = decode_bytes<Payment>(v, read_payment)) out.push_back(payment_json(*pm));
        return true;
      });
      return json{{"agreement", p->first}, {"payments", out}};
    }
  }
  if (path.starts_with("ratings/")) {
    auto who = PublicKey::from_hex(path.substr(8));
    if (!who) return error(Code::kInvalidArgument, "account must be 64 hex digits");
    RatingTotals t = rating_totals(s, *who);
    return json{{"account", who->hex()},
                {"count", t.count},
                {"weight", t.weight},
                {"rating", rating_milli(t)}};
  }
  if (path.starts_with("log/")) {
    auto h = parse_id(path.substr(4));
    if (!h) return error(Code::kInvalidArgument, "log/<height>");
    json out = json::array();
    for (const auto& e : block_log(s, *h))
      out.push_back({{"kind", static_cast<int>(e.kind)}, {"id", e.id}, {"period", e.period}});
    return json{{"height", *h}, {"entries", out}};
  }
  if (path == "assets") {  // listed assets (state scan; the SQL read model is the fast path)
    MatchFilter f;
    if (auto r = f.parse(params); !r) return r.status();
    json out = json::array();
    s.scan("agr/asset/", [&](std::string_view, std::string_view v) {
      auto a = decode_bytes<Asset>(v, read_asset_state);
      if (!a || a->agreement || (f.types && !(f.types & type_bit(a->type))) ||
          a->capacity_w < f.min_w || a->capacity_w > f.max_w)
        return true;
      out.push_back(asset_json(*a));
      return out.size() < f.limit;
    });
    return json{{"assets", out}};
  }
  if (path == "match") {
    // Ranks listed assets for one premises, scanning state (the SQL read model answers
    // the same query with indexes: gridpact query match --db).
    MatchFilter f;
    if (auto r = f.parse(params); !r) return r.status();
    uint64_t pid = 0;
    if (params.contains("premises") && params["premises"].is_string())
      pid = parse_id(params["premises"].get<std::string>()).value_or(0);
    else if (params.contains("premises") && params["premises"].is_number_unsigned())
      pid = params["premises"].get<uint64_t>();
    if (pid == 0) return error(Code::kInvalidArgument, "match needs premises=<id>");
    auto pr = find_premises(s, pid);
    if (!pr) return error(kPremisesNotFound, "no premises " + std::to_string(pid));
    uint64_t host_rating = rating_milli(rating_totals(s, pr->host));
    std::vector<MatchResult> results;
    s.scan("agr/asset/", [&](std::string_view, std::string_view v) {
      auto a = decode_bytes<Asset>(v, read_asset_state);
      if (!a) return true;
      if (auto r = score_pair(*a, rating_milli(rating_totals(s, a->owner)), *pr, host_rating, f))
        results.push_back(*r);
      return true;
    });
    rank(results, f.limit);
    json out = json::array();
    for (const auto& r : results) out.push_back(match_json(r));
    return json{{"premises", pid}, {"matches", out}};
  }
  return error(Code::kNotFound, "no agreements query " + std::string(path));
}

}  // namespace gridpact::agreements
