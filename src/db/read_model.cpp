#include "db/read_model.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "db/governance_rows.hpp"
#include "db/table.hpp"
#include "db/tokens_rows.hpp"
#include "node/node.hpp"

namespace gridpact::db {
namespace {

using namespace agreements;

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS gp_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS assets (id BIGINT PRIMARY KEY, owner TEXT NOT NULL, type INTEGER NOT NULL,
  capacity_w BIGINT NOT NULL, meter TEXT NOT NULL, microgrid TEXT NOT NULL, lat_e6 BIGINT NOT NULL,
  lon_e6 BIGINT NOT NULL, price BIGINT NOT NULL, agreement BIGINT NOT NULL, name TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS assets_listed_lat ON assets (agreement, lat_e6);
CREATE INDEX IF NOT EXISTS assets_listed_type_capacity ON assets (agreement, type, capacity_w);
CREATE INDEX IF NOT EXISTS assets_owner ON assets (owner);
CREATE TABLE IF NOT EXISTS premises (id BIGINT PRIMARY KEY, host TEXT NOT NULL, area_m2 BIGINT NOT NULL,
  lat_e6 BIGINT NOT NULL, lon_e6 BIGINT NOT NULL, microgrid TEXT NOT NULL, preferred_types INTEGER NOT NULL,
  expected_consumption_wh BIGINT NOT NULL, meter TEXT NOT NULL, name TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS premises_lat ON premises (lat_e6);
CREATE INDEX IF NOT EXISTS premises_host ON premises (host);
CREATE TABLE IF NOT EXISTS agreements (id BIGINT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL,
  asset BIGINT NOT NULL, premises BIGINT NOT NULL, owner TEXT NOT NULL, host TEXT NOT NULL,
  terms_hash TEXT NOT NULL, start_ms BIGINT NOT NULL, period_ms BIGINT NOT NULL, periods BIGINT NOT NULL,
  billed_periods BIGINT NOT NULL, arrears BIGINT NOT NULL, total_paid BIGINT NOT NULL,
  next_due_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS agreements_owner ON agreements (owner);
CREATE INDEX IF NOT EXISTS agreements_host ON agreements (host);
CREATE INDEX IF NOT EXISTS agreements_status ON agreements (status);
CREATE TABLE IF NOT EXISTS payments (agreement BIGINT NOT NULL, period BIGINT NOT NULL,
  from_ms BIGINT NOT NULL, to_ms BIGINT NOT NULL, generated_wh BIGINT NOT NULL, surplus_wh BIGINT NOT NULL,
  billed_wh BIGINT NOT NULL, energy_charge BIGINT NOT NULL, rebate BIGINT NOT NULL,
  instalment BIGINT NOT NULL, surplus_revenue BIGINT NOT NULL, due BIGINT NOT NULL, status TEXT NOT NULL,
  height BIGINT NOT NULL, PRIMARY KEY (agreement, period));
CREATE TABLE IF NOT EXISTS ratings (agreement BIGINT NOT NULL, period BIGINT NOT NULL, rater TEXT NOT NULL,
  ratee TEXT NOT NULL, score INTEGER NOT NULL, PRIMARY KEY (agreement, period, rater));
CREATE INDEX IF NOT EXISTS ratings_ratee ON ratings (ratee);
CREATE TABLE IF NOT EXISTS trade_ratings (commodity TEXT NOT NULL, period BIGINT NOT NULL,
  trade BIGINT NOT NULL, rater TEXT NOT NULL, ratee TEXT NOT NULL, score INTEGER NOT NULL,
  weight BIGINT NOT NULL, PRIMARY KEY (commodity, period, trade, rater));
CREATE INDEX IF NOT EXISTS trade_ratings_ratee ON trade_ratings (ratee);
CREATE TABLE IF NOT EXISTS proposals (id BIGINT PRIMARY KEY, proposer TEXT NOT NULL,
  status TEXT NOT NULL, changes TEXT NOT NULL, created_height BIGINT NOT NULL,
  deadline_height BIGINT NOT NULL, activate_at BIGINT, closed_height BIGINT NOT NULL,
  executed_height BIGINT NOT NULL, error_code BIGINT NOT NULL, memo TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS proposal_votes (proposal BIGINT NOT NULL, member TEXT NOT NULL,
  choice TEXT NOT NULL, PRIMARY KEY (proposal, member));
CREATE TABLE IF NOT EXISTS account_ratings (account TEXT PRIMARY KEY, count BIGINT NOT NULL,
  weight BIGINT NOT NULL, weighted_sum BIGINT NOT NULL, rating_milli BIGINT NOT NULL);
)";

const Table kAssets{"assets",
                    {"id", "owner", "type", "capacity_w", "meter", "microgrid", "lat_e6", "lon_e6",
                     "price", "agreement", "name"},
                    1};
const Table kPremises{"premises",
                      {"id", "host", "area_m2", "lat_e6", "lon_e6", "microgrid", "preferred_types",
                       "expected_consumption_wh", "meter", "name"},
                      1};
const Table kAgreements{
    "agreements",
    {"id", "kind", "status", "asset", "premises", "owner", "host", "terms_hash", "start_ms",
     "period_ms", "periods", "billed_periods", "arrears", "total_paid", "next_due_ms"},
    1};
const Table kPayments{
    "payments",
    {"agreement", "period", "from_ms", "to_ms", "generated_wh", "surplus_wh", "billed_wh",
     "energy_charge", "rebate", "instalment", "surplus_revenue", "due", "status", "height"},
    2};
const Table kRatings{"ratings", {"agreement", "period", "rater", "ratee", "score"}, 3};
const Table kAccountRatings{
    "account_ratings", {"account", "count", "weight", "weighted_sum", "rating_milli"}, 1};
const Table kTradeRatings{
    "trade_ratings", {"commodity", "period", "trade", "rater", "ratee", "score", "weight"}, 4};
const Table kProposals{"proposals",
                       {"id", "proposer", "status", "changes", "created_height", "deadline_height",
                        "activate_at", "closed_height", "executed_height", "error_code", "memo"},
                       1};
const Table kProposalVotes{"proposal_votes", {"proposal", "member", "choice"}, 2};
const std::vector<const Table*> kTables = {
    &kAssets,         &kPremises,  &kAgreements,    &kPayments,      &kRatings,    &kTradeRatings,
    &kAccountRatings, &kProposals, &kProposalVotes, &kTokenBalances, &kTokenMints, &kTokenPool};

// Values are stored as BIGINT (signed): u64 fields beyond INT64_MAX are clamped.
Value n(uint64_t x) {
  return std::to_string(std::min<uint64_t>(x, INT64_MAX));
}
Value n(int64_t x) {
  return std::to_string(x);
}

Row asset_row(const Asset& a) {
  return {n(a.id),         a.owner.hex(), n(uint64_t{static_cast<uint8_t>(a.type)}),
          n(a.capacity_w), a.meter.hex(), a.microgrid,
          n(a.lat_e6),     n(a.lon_e6),   n(a.price_micro_per_kwh),
          n(a.agreement),  a.name};
}
Row premises_row(const Premises& p) {
  return {n(p.id),
          p.host.hex(),
          n(p.area_m2),
          n(p.lat_e6),
          n(p.lon_e6),
          p.microgrid,
          n(uint64_t{p.preferred_types}),
          n(p.expected_consumption_wh),
          p.meter.is_zero() ? "" : p.meter.hex(),
          p.name};
}
Row agreement_row(uint64_t id, const Terms& t, const AgreementState& st) {
  return {n(id),
          std::string(kind_name(t.kind)),
          std::string(status_name(st.status)),
          n(t.asset),
          n(t.premises),
          t.parties[*t.role_index(Role::kOwner)].account.hex(),
          t.parties[*t.role_index(Role::kHost)].account.hex(),
          st.terms_hash.hex(),
          n(t.start_ms),
          n(t.period_ms),
          n(uint64_t{t.periods}),
          n(uint64_t{st.billed_periods}),
          n(st.arrears_total()),
          n(st.total_paid),
          n(st.next_due_ms)};
}
Row payment_row(const Payment& p) {
  static const char* kStatus[] = {"paid", "missed", "paid_late"};
  return {n(p.agreement),
          n(uint64_t{p.period}),
          n(p.from_ms),
          n(p.to_ms),
          n(p.generated_wh),
          n(p.surplus_wh),
          n(p.billed_wh),
          n(p.energy_charge),
          n(p.rebate),
          n(p.instalment),
          n(p.surplus_revenue),
          n(p.due),
          kStatus[static_cast<int>(p.status)],
          n(p.height)};
}
Row account_rating_row(const PublicKey& who, const RatingTotals& t) {
  return {who.hex(), n(t.count), n(t.weight), n(t.weighted_sum), n(rating_milli(t))};
}
std::optional<Row> rating_row(const StateReader& s, uint64_t agreement, uint32_t period,
                              const PublicKey& rater) {
  auto score = find_rating(s, agreement, period, rater);
  auto t = find_terms(s, agreement);
  if (!score || !t) return std::nullopt;
  auto me = t->party_index(rater);
  if (!me) return std::nullopt;
  Role other = t->parties[*me].role == Role::kOwner ? Role::kHost : Role::kOwner;
  return Row{n(agreement), n(uint64_t{period}), rater.hex(),
             t->parties[*t->role_index(other)].account.hex(), n(uint64_t{*score})};
}
Row trade_rating_row(const TradeRef& t, const PublicKey& rater, const TradeRating& r) {
  return {t.commodity,   n(t.period),          n(t.index), rater.hex(),
          r.ratee.hex(), n(uint64_t{r.score}), n(r.weight)};
}
PublicKey ratee_of(const StateReader& s, uint64_t agreement, const PublicKey& rater) {
  auto t = find_terms(s, agreement);
  auto me = t ? t->party_index(rater) : std::nullopt;
  if (!me) return {};
  Role other = t->parties[*me].role == Role::kOwner ? Role::kHost : Role::kOwner;
  return t->parties[*t->role_index(other)].account;
}

int64_t to_i64(const Value& v) {
  return v ? std::stoll(*v) : 0;
}

}  // namespace

Result<std::unique_ptr<ReadModel>> ReadModel::open(const std::string& url) {
  auto sql = connect(url);
  if (!sql) return sql.status();
  std::unique_ptr<ReadModel> m(new ReadModel(std::move(sql.value())));
  if (Status s = m->schema(); !s) return s;
  return m;
}

Status ReadModel::schema() {
  if (Status s = sql_->exec_script(kSchema); !s) return s;
  return sql_->exec_script(kTokenSchema);
}

Result<uint64_t> ReadModel::last_height() {
  auto rows = sql_->query("SELECT value FROM gp_meta WHERE key = 'last_height'", {});
  if (!rows) return rows.status();
  if (rows->empty()) return uint64_t{0};
  return static_cast<uint64_t>(to_i64(rows->at(0).at(0)));
}

Status ReadModel::apply_block(const StateReader& s, uint64_t height) {
  auto entries = block_log(s, height);
  if (Status st = sql_->exec_script("BEGIN"); !st) return st;
  auto fail = [&](Status st) {
    (void)sql_->exec_script("ROLLBACK");
    return st;
  };
  static const std::string kUpsertAsset = kAssets.upsert(), kUpsertPremises = kPremises.upsert(),
                           kUpsertAgreement = kAgreements.upsert(),
                           kUpsertPayment = kPayments.upsert(), kUpsertRating = kRatings.upsert(),
                           kUpsertAccount = kAccountRatings.upsert(),
                           kUpsertTradeRating = kTradeRatings.upsert();
  for (const auto& e : entries) {
    Status st;
    switch (e.kind) {
      case LogKind::kAsset:
        if (auto a = find_asset(s, e.id)) st = sql_->exec(kUpsertAsset, asset_row(*a));
        break;
      case LogKind::kPremises:
        if (auto p = find_premises(s, e.id)) st = sql_->exec(kUpsertPremises, premises_row(*p));
        break;
      case LogKind::kAgreement: {
        auto t = find_terms(s, e.id);
        auto a = find_agreement(s, e.id);
        if (t && a) st = sql_->exec(kUpsertAgreement, agreement_row(e.id, *t, *a));
        break;
      }
      case LogKind::kPayment:
        if (auto p = find_payment(s, e.id, e.period))
          st = sql_->exec(kUpsertPayment, payment_row(*p));
        break;
      case LogKind::kBilled: {  // the period's payment and the agreement's row
        if (auto p = find_payment(s, e.id, e.period))
          st = sql_->exec(kUpsertPayment, payment_row(*p));
        auto t = find_terms(s, e.id);
        auto a = find_agreement(s, e.id);
        if (st && t && a) st = sql_->exec(kUpsertAgreement, agreement_row(e.id, *t, *a));
        break;
      }
      case LogKind::kRating:
        if (auto r = rating_row(s, e.id, e.period, e.rater)) {
          st = sql_->exec(kUpsertRating, *r);
          PublicKey ratee = ratee_of(s, e.id, e.rater);
          if (st)
            st = sql_->exec(kUpsertAccount, account_rating_row(ratee, rating_totals(s, ratee)));
        }
        break;
      case LogKind::kTradeRating:
        if (auto r = find_trade_rating(s, e.trade, e.rater)) {
          st = sql_->exec(kUpsertTradeRating, trade_rating_row(e.trade, e.rater, *r));
          if (st)
            st = sql_->exec(kUpsertAccount,
                            account_rating_row(r->ratee, rating_totals(s, r->ratee)));
        }
        break;
    }
    if (!st) return fail(st);
  }
  static const std::string kUpsertProposal = kProposals.upsert(),
                           kUpsertVote = kProposalVotes.upsert();
  for (uint64_t id : governance::changed_in(s, height)) {  // a proposal and all its votes
    auto p = governance::proposal(s, id);
    if (!p) continue;
    Status st = sql_->exec(kUpsertProposal, proposal_row(id, *p));
    if (st) st = sql_->exec("DELETE FROM proposal_votes WHERE proposal = $1", {n(id)});
    for (const Row& r : vote_rows(s, id))
      if (st) st = sql_->exec(kUpsertVote, r);
    if (!st) return fail(st);
  }
  if (Status st = apply_token_block(*sql_, s, height); !st) return fail(st);
  if (Status st = sql_->exec(
          "INSERT INTO gp_meta (key, value) VALUES ('last_height', $1) ON CONFLICT (key) DO "
          "UPDATE SET value = excluded.value",
          {n(height)});
      !st)
    return fail(st);
  if (Status st = sql_->exec_script("COMMIT"); !st) return fail(st);
  return ok();
}

Status ReadModel::catch_up(const StateReader& s, uint64_t height) {
  auto last = last_height();
  if (!last) return last.status();
  for (uint64_t h = *last + 1; h <= height; ++h)
    if (Status st = apply_block(s, h); !st) return st;
  return ok();
}

namespace {
Asset asset_from(const Row& r) {
  Asset a;
  a.id = static_cast<uint64_t>(to_i64(r[0]));
  a.owner = PublicKey::from_hex(r[1].value_or("")).value_or(PublicKey{});
  a.type = static_cast<AssetType>(to_i64(r[2]));
  a.capacity_w = static_cast<uint64_t>(to_i64(r[3]));
  a.meter = Hash32::from_hex(r[4].value_or("")).value_or(Hash32{});
  a.microgrid = r[5].value_or("");
  a.lat_e6 = to_i64(r[6]);
  a.lon_e6 = to_i64(r[7]);
  a.price_micro_per_kwh = static_cast<uint64_t>(to_i64(r[8]));
  a.agreement = static_cast<uint64_t>(to_i64(r[9]));
  a.name = r[10].value_or("");
  return a;
}
constexpr const char* kListedInBox =
    "SELECT a.id, a.owner, a.type, a.capacity_w, a.meter, a.microgrid, a.lat_e6, a.lon_e6, "
    "a.price, a.agreement, "
    "a.name, COALESCE(r.rating_milli, 3000) FROM assets a LEFT JOIN account_ratings r ON r.account "
    "= a.owner "
    "WHERE a.agreement = 0 AND a.lat_e6 BETWEEN $1 AND $2 AND a.lon_e6 BETWEEN $3 AND $4 "
    "AND a.capacity_w BETWEEN $5 AND $6";
}  // namespace

Result<json> ReadModel::match(uint64_t premises, const MatchFilter& f) {
  auto pr = sql_->query(
      "SELECT p.id, p.host, p.area_m2, p.lat_e6, p.lon_e6, p.microgrid, p.preferred_types, "
      "p.expected_consumption_wh, COALESCE(r.rating_milli, 3000) FROM premises p "
      "LEFT JOIN account_ratings r ON r.account = p.host WHERE p.id = $1",
      {n(premises)});
  if (!pr) return pr.status();
  if (pr->empty()) return error(kPremisesNotFound, "no premises " + std::to_string(premises));
  const Row& r = pr->at(0);
  Premises p;
  p.id = premises;
  p.host = PublicKey::from_hex(r[1].value_or("")).value_or(PublicKey{});
  p.area_m2 = static_cast<uint64_t>(to_i64(r[2]));
  p.lat_e6 = to_i64(r[3]);
  p.lon_e6 = to_i64(r[4]);
  p.preferred_types = static_cast<uint8_t>(to_i64(r[6]));
  uint64_t host_rating = static_cast<uint64_t>(to_i64(r[8]));
  auto [dlat, dlon] = bounding_box_e6(p.lat_e6, f.radius_m);
  uint64_t max_w = std::min(f.max_w, p.area_m2 * 500);  // no type holds more than 500 W/m2
  auto rows = sql_->query(kListedInBox, {n(p.lat_e6 - dlat), n(p.lat_e6 + dlat), n(p.lon_e6 - dlon),
                                         n(p.lon_e6 + dlon), n(f.min_w), n(max_w)});
  if (!rows) return rows.status();
  std::vector<MatchResult> results;
  for (const auto& row : *rows) {
    Asset a = asset_from(row);
    if (auto m = score_pair(a, static_cast<uint64_t>(to_i64(row[11])), p, host_rating, f))
      results.push_back(*m);
  }
  rank(results, f.limit);
  json out = json::array();
  for (const auto& m : results) out.push_back(match_json(m));
  return json{{"premises", premises}, {"matches", out}, {"candidates", rows->size()}};
}

Result<json> ReadModel::search_assets(int64_t lat_e6, int64_t lon_e6, const MatchFilter& f) {
  auto [dlat, dlon] = bounding_box_e6(lat_e6, f.radius_m);
  auto rows = sql_->query(kListedInBox, {n(lat_e6 - dlat), n(lat_e6 + dlat), n(lon_e6 - dlon),
                                         n(lon_e6 + dlon), n(f.min_w), n(f.max_w)});
  if (!rows) return rows.status();
  std::vector<std::pair<uint64_t, json>> found;
  for (const auto& row : *rows) {
    Asset a = asset_from(row);
    uint64_t rating = static_cast<uint64_t>(to_i64(row[11]));
    if (f.types && !(f.types & type_bit(a.type))) continue;
    if (rating < f.min_rating_milli) continue;
    uint64_t d = distance_m(lat_e6, lon_e6, a.lat_e6, a.lon_e6);
    if (d > f.radius_m) continue;
    json j = asset_json(a);
    j["distance_m"] = d;
    j["owner_rating"] = rating;
    found.emplace_back(d * 1'000'000'000ull + std::min<uint64_t>(a.id, 999'999'999), std::move(j));
  }
  std::sort(found.begin(), found.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  json out = json::array();
  for (size_t i = 0; i < found.size() && i < f.limit; ++i) out.push_back(found[i].second);
  return json{{"assets", out}};
}

Result<json> ReadModel::agreements_of(const std::string& account) {
  auto rows = sql_->query(
      "SELECT id, kind, status, asset, premises, owner, host, billed_periods, arrears, total_paid "
      "FROM agreements "
      "WHERE owner = $1 OR host = $1 ORDER BY id",
      {account});
  if (!rows) return rows.status();
  json out = json::array();
  for (const auto& r : *rows)
    out.push_back({{"id", to_i64(r[0])},
                   {"kind", r[1].value_or("")},
                   {"status", r[2].value_or("")},
                   {"asset", to_i64(r[3])},
                   {"premises", to_i64(r[4])},
                   {"owner", r[5].value_or("")},
                   {"host", r[6].value_or("")},
                   {"billed_periods", to_i64(r[7])},
                   {"arrears", to_i64(r[8])},
                   {"total_paid", to_i64(r[9])}});
  return json{{"account", account}, {"agreements", out}};
}

Result<json> ReadModel::payments_of(uint64_t agreement) {
  auto rows = sql_->query(kPayments.select_all().insert(kPayments.select_all().find(" ORDER BY"),
                                                        " WHERE agreement = $1"),
                          {n(agreement)});
  if (!rows) return rows.status();
  json out = json::array();
  for (const auto& r : *rows) {
    json j;
    for (size_t i = 0; i < kPayments.columns.size(); ++i)
      j[kPayments.columns[i]] = i == 12 ? json(r[i].value_or("")) : json(to_i64(r[i]));
    out.push_back(j);
  }
  return json{{"agreement", agreement}, {"payments", out}};
}

Result<json> ReadModel::verify(const StateReader& s) {
  // Expected rows, recomputed from chain state, keyed by the table's primary key.
  std::map<std::string, std::map<std::string, Row>> expected;
  auto key_of = [](const Table& t, const Row& r) {
    std::string k;
    for (size_t i = 0; i < t.key_columns; ++i) k += r[i].value_or("NULL") + "|";
    return k;
  };
  auto add = [&](const Table& t, Row r) { expected[t.name][key_of(t, r)] = std::move(r); };
  for (uint64_t id = 1; id <= get_u64(s, "agr/next/asset"); ++id)
    if (auto a = find_asset(s, id)) add(kAssets, asset_row(*a));
  for (uint64_t id = 1; id <= get_u64(s, "agr/next/prem"); ++id)
    if (auto p = find_premises(s, id)) add(kPremises, premises_row(*p));
  for (uint64_t id = 1; id <= get_u64(s, "agr/next/agt"); ++id) {
    auto t = find_terms(s, id);
    auto st = find_agreement(s, id);
    if (t && st) {
      add(kAgreements, agreement_row(id, *t, *st));
      for (uint32_t k = 0; k < st->billed_periods; ++k)
        if (auto p = find_payment(s, id, k)) {
          add(kPayments, payment_row(*p));
          for (const auto& party : t->parties)
            if (auto r = rating_row(s, id, k, party.account)) add(kRatings, *r);
        }
    }
  }
  scan_trade_ratings(s, [&](const TradeRef& t, const PublicKey& rater, const TradeRating& r) {
    add(kTradeRatings, trade_rating_row(t, rater, r));
    return true;
  });
  s.scan("agr/rating/", [&](std::string_view k, std::string_view) {
    if (k.size() != 11 + 32) return true;
    auto who = PublicKey::from_span(reinterpret_cast<const uint8_t*>(k.data() + 11));
    add(kAccountRatings, account_rating_row(who, rating_totals(s, who)));
    return true;
  });
  governance::each_proposal(s, [&](uint64_t id, const governance::ProposalRecord& p) {
    add(kProposals, proposal_row(id, p));
    for (Row& r : vote_rows(s, id)) add(kProposalVotes, std::move(r));
    return true;
  });
  expected_token_rows(s, add);

  json differences = json::array();
  json counts = json::object();
  auto note = [&](json d) {
    if (differences.size() < 100) differences.push_back(std::move(d));
  };
  size_t total_differences = 0;
  for (const Table* t : kTables) {
    auto rows = sql_->query(t->select_all(), {});
    if (!rows) return rows.status();
    auto& want = expected[t->name];
    std::map<std::string, Row> have;
    for (auto& r : *rows) have[key_of(*t, r)] = std::move(r);
    auto row_json = [&](const Row& r) {
      json j;
      for (size_t i = 0; i < t->columns.size(); ++i) j[t->columns[i]] = r[i] ? json(*r[i]) : json();
      return j;
    };
    for (const auto& [k, r] : want) {
      auto it = have.find(k);
      if (it == have.end()) {
        ++total_differences;
        note({{"table", t->name}, {"missing", row_json(r)}});
      } else if (it->second != r) {
        ++total_differences;
        note({{"table", t->name}, {"expected", row_json(r)}, {"found", row_json(it->second)}});
      }
    }
    for (const auto& [k, r] : have)
      if (!want.count(k)) {
        ++total_differences;
        note({{"table", t->name}, {"unexpected", row_json(r)}});
      }
    counts[t->name] = {{"chain", want.size()}, {"db", have.size()}};
  }
  auto last = last_height();
  return json{{"ok", total_differences == 0},
              {"engine", sql_->engine()},
              {"last_height", last ? json(*last) : json()},
              {"difference_count", total_differences},
              {"differences", differences},
              {"tables", counts}};
}

Follower::Follower(Node& node, ReadModel& model) : node_(node), model_(model) {}
Follower::~Follower() {
  stop();
}

Status Follower::start() {
  auto last = model_.last_height();
  if (!last) return last.status();
  {
    std::lock_guard lock(mutex_);
    applied_ = *last;
    target_ = node_.store().height().value_or(0);
    stopping_ = false;
  }
  subscription_ = node_.subscribe([this](const Block& b, const std::vector<Receipt>&) {
    std::lock_guard lock(mutex_);
    target_ = std::max(target_, b.header.height);
    cv_.notify_all();
  });
  worker_ = std::thread([this] { run(); });
  return ok();
}

void Follower::stop() {
  if (subscription_ >= 0) {
    node_.unsubscribe(subscription_);
    subscription_ = -1;
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (worker_.joinable()) worker_.join();
}

void Follower::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (applied_ >= target_) {
      cv_.wait(lock);
      continue;
    }
    uint64_t next = applied_ + 1;
    lock.unlock();
    Status s = model_.apply_block(node_.store(), next);
    lock.lock();
    if (s) {
      applied_ = next;
      error_ = Status::ok();
      cv_.notify_all();
    } else {
      if (error_.message != s.message)
        spdlog::error("read model: block {}: {}", next, s.to_string());
      error_ = s;
      cv_.wait_for(lock, std::chrono::seconds(1));  // the database may come back
    }
  }
}

bool Follower::wait_height(uint64_t height, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return applied_ >= height || stopping_; }) &&
         applied_ >= height;
}

Status Follower::last_error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

}  // namespace gridpact::db
