// bench_agreements: billing and matching.
//
//   bill_<n>_agreements_s  median time of the agreements module's end_block billing one
//                          period of n active lease agreements (meter reading lookups, tariff,
//                          shares, bank transfers, payment records, change log, rescheduling), on a
//                          StateOverlay over an in-memory stand-in for the node's Store
//                          (an ordered map behind the Store's StateCache). The Merkle
//                          tree and the RocksDB commit of the block are not included;
//                          what they would cost grows with the keys the block writes.
//                          The period is billed 5 times from the same state (a node bills
//                          period after period); the median is reported, and
//   bill_<n>_agreements_first_s         the first of them, in a process that never billed
//                                       (its fresh memory costs page faults)
//   bill_<n>_writes_per_agreement       state writes (puts and erases) of that block / n
//   bill_<n>_store_reads_per_agreement  reads that reached the state under the block's
//                                       overlay (what the node reads from RocksDB) / n
//   match_p50_ms/p99_ms    latency of a matching query (premises -> ranked listed systems)
//                          on the SQLite read model holding 100k listings.
// GRIDPACT_BENCH_QUICK=1: 1k agreements, 10k listings.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>

#include "attest/virtual_platform.hpp"
#include "bench_util.hpp"
#include "db/read_model.hpp"
#include "ledger/store.hpp"
#include "ledger/testing.hpp"
#include "modules/agreements/agreements.hpp"
#include "modules/bank/bank.hpp"
#include "modules/meters/meters.hpp"

using namespace gridpact;
using namespace gridpact::agreements;

namespace {

// Stands in for the node's Store: an ordered map where RocksDB would be, behind the same
// StateCache the Store keeps in front of RocksDB, holding what recent blocks wrote.
class MapState : public StateReader {
 public:
  std::map<std::string, std::string, std::less<>> kv;
  mutable StateCache cache{Store::Options{}.state_cache_entries};
  mutable std::atomic<uint64_t> reads = 0;  // gets and scans (billing reads on several threads)
  std::optional<std::string> get(std::string_view key) const override {
    ++reads;
    if (auto cached = cache.find(key)) return std::move(*cached);
    uint64_t generation = cache.generation();
    auto it = kv.find(key);
    std::optional<std::string> value;
    if (it != kv.end()) value = it->second;
    cache.remember(key, value, generation);
    return value;
  }
  void scan(std::string_view prefix, const Visitor& fn) const override {
    ++reads;
    for (auto it = kv.lower_bound(prefix); it != kv.end() && it->first.starts_with(prefix); ++it)
      if (!fn(it->first, it->second)) return;
  }
  void absorb(const StateOverlay& o) {
    StateOverlay::Writes writes = o.writes();
    for (const auto& [k, v] : writes) {
      if (v)
        kv[k] = *v;
      else
        kv.erase(k);
    }
    cache.apply(writes);
  }
};

constexpr uint64_t kSettleMs = 900'000;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs one transaction's handler directly (no signatures: the benchmark measures billing).
void deliver(Module& m, StateOverlay& s, const PublicKey& sender, uint16_t type, Bytes payload,
             uint64_t time_ms, uint64_t height) {
  Transaction tx;
  tx.chain_id = "bench";
  tx.sender = sender;
  tx.type = type;
  tx.payload = std::move(payload);
  BlockInfo info{"bench", height, time_ms};
  std::vector<Event> events;
  StateOverlay txs(s);
  TxContext ctx{info, tx, Hash32{}, txs, events};
  Status st = m.check(tx);
  if (st) st = m.deliver(ctx);
  if (!st) {
    std::fprintf(stderr, "setup failed: %s\n", st.to_string().c_str());
    std::exit(1);
  }
  txs.merge_into(s);
}

double bill(size_t n) {
  bank::BankModule bank_module;
  meters::MetersModule meters_module;
  AgreementsModule agr;
  MapState base;
  uint64_t start = 100 * kSettleMs;
  {
    StateOverlay g(base);
    KeyPair issuer = KeyPair::generate();
    (void)bank_module.init_genesis(g, {{"issuer", issuer.public_key().hex()}});
    (void)meters_module.init_genesis(g, {{"allow_virtual", true}, {"period_ms", kSettleMs}});
    (void)agr.init_genesis(g, json::object());  // its parameters (billing bounds)
    base.absorb(g);
  }
  std::mt19937_64 rng(7);
  for (size_t i = 0; i < n; ++i) {
    StateOverlay s(base);
    KeyPair owner = KeyPair::generate(), host = KeyPair::generate(),
            meter_key = KeyPair::generate();
    Bytes mk(meter_key.public_key().bytes.begin(), meter_key.public_key().bytes.end());
    meters::MeterInfo mi;
    mi.id = meters::meter_id_of(mk);
    mi.owner = owner.public_key();
    mi.microgrid = "mg-bench";
    mi.source = meters::Source::kPv;
    mi.public_key = mk;
    mi.registered_time_ms = start;  // its first reading, of `start`'s period, then counts
    meters::import_meter(s, mi, 0, 0);
    // Funds for both parties, written the way genesis writes balances: the host pays, the
    // owner (who bought the generator) already holds an account.
    s.put(account_key("bank/bal/", host.public_key()), encode_u64(1'000'000'000));
    s.put(account_key("bank/bal/", owner.public_key()), encode_u64(1'000'000));
    s.put("bank/supply", encode_u64(get_u64(s, "bank/supply") + 1'001'000'000));
    Asset a;
    a.capacity_w = 5000;
    a.meter = mi.id;
    deliver(agr, s, owner.public_key(), kRegisterAsset, encode(a), start - 2 * kSettleMs, 1);
    Premises p;
    p.area_m2 = 50;
    deliver(agr, s, host.public_key(), kRegisterPremises, encode(p), start - 2 * kSettleMs, 1);
    TemplateArgs t;
    t.asset = i + 1;
    t.premises = i + 1;
    t.owner = owner.public_key();
    t.host = host.public_key();
    t.start_ms = start;
    t.period_ms = kSettleMs;
    t.periods = 12;
    t.price_micro_per_kwh = 200'000;
    t.rebate_bps = 1000;
    Terms terms = lease_template(t);
    deliver(agr, s, owner.public_key(), kPropose, encode_terms(terms), start - 2 * kSettleMs, 1);
    deliver(agr, s, host.public_key(), kSign, encode(SignPayload{i + 1, terms_hash(terms)}),
            start - 2 * kSettleMs, 1);
    // The period's reading, signed by the meter and checked by the meters module.
    meters::Reading r{mi.id, start / kSettleMs, 1, 0, 500 + rng() % 1000, {}};
    meters::sign_virtual(r, "bench", meter_key);
    deliver(meters_module, s, owner.public_key(), meters::kReading, meters::encode(r),
            start + kSettleMs, 2);
    base.absorb(s);
  }
  // The same period is billed kRuns times, each time from the same state in a fresh block
  // overlay: the first run in a process that has never billed, the later ones as a node
  // bills period after period, reusing the memory earlier blocks freed.
  constexpr int kRuns = 5;
  uint64_t supply = bank::supply(base);
  std::vector<double> seconds;
  std::string name = "bill_" + std::to_string(n);
  for (int run = 0; run < kRuns; ++run) {
    StateOverlay block(base);
    std::vector<Event> events;
    BlockInfo info{"bench", 3, start + 2 * kSettleMs};
    BlockContext ctx{info, block, events};
    base.reads = 0;
    bench::profile_begin();
    double t0 = now_s();
    agr.end_block(ctx);
    seconds.push_back(now_s() - t0);
    bench::profile_end();
    json summary = agr.event_json(events.at(0)).value_or(json::object());
    if (summary["billed"] != n || summary["paid"] != n || bank::supply(block) != supply) {
      std::fprintf(stderr, "billing did not bill every agreement: %s\n", summary.dump().c_str());
      std::exit(1);
    }
    if (run > 0) continue;
    bench::metric(name + "_writes_per_agreement",
                  static_cast<double>(block.size()) / static_cast<double>(n), "writes");
    bench::metric(name + "_store_reads_per_agreement",
                  static_cast<double>(base.reads.load()) / static_cast<double>(n), "reads");
    bench::metric(name + "_agreements_first_s", seconds[0], "s");
  }
  return bench::percentile(seconds, 0.5);
}

void matching(size_t listings, size_t queries) {
  testing::TempDir dir;
  auto model = db::ReadModel::open("sqlite:" + dir.str() + "/bench.db");
  if (!model) {
    std::fprintf(stderr, "%s\n", model.status().to_string().c_str());
    std::exit(1);
  }
  db::Sql& sql = (*model)->sql();
  std::mt19937_64 rng(11);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo));
  };
  (void)sql.exec_script("BEGIN");
  size_t premises = 1000;
  for (size_t i = 1; i <= listings; ++i) {
    std::string owner = KeyPair::generate().public_key().hex();
    (void)sql.exec("INSERT INTO assets VALUES ($1, $2, $3, $4, '', 'mg', $5, $6, 150000, $7, '')",
                   {db::v(uint64_t{i}), owner, db::v(uint64_t{1 + rng() % 5}),
                    db::v(uint64_t{500 + rng() % 20000}), db::v(uniform(45'000'000, 55'000'000)),
                    db::v(uniform(0, 15'000'000)), db::v(uint64_t{rng() % 10 == 0 ? i : 0})});
    if (i % 3 == 0)
      (void)sql.exec("INSERT INTO account_ratings VALUES ($1, 1, 10, 40, $2)",
                     {owner, db::v(uint64_t{1000 + rng() % 4000})});
  }
  for (size_t i = 1; i <= premises; ++i)
    (void)sql.exec("INSERT INTO premises VALUES ($1, $2, $3, $4, $5, 'mg', $6, 0, '', '')",
                   {db::v(uint64_t{i}), KeyPair::generate().public_key().hex(),
                    db::v(uint64_t{10 + rng() % 200}), db::v(uniform(45'000'000, 55'000'000)),
                    db::v(uniform(0, 15'000'000)), db::v(uint64_t{rng() % 2 ? 0u : 2u})});
  (void)sql.exec_script("COMMIT; ANALYZE;");
  std::vector<double> ms;
  size_t found = 0;
  for (size_t q = 0; q < queries; ++q) {
    MatchFilter f;
    if (q % 2) (void)f.parse({{"min_w", "1000"}, {"max_w", "10000"}, {"radius_km", "30"}});
    double t0 = now_s();
    auto r = (*model)->match(1 + rng() % premises, f);
    ms.push_back((now_s() - t0) * 1000);
    if (!r) {
      std::fprintf(stderr, "%s\n", r.status().to_string().c_str());
      std::exit(1);
    }
    found += (*r)["matches"].size();
  }
  std::string suffix = listings == 100'000 ? "" : "_" + std::to_string(listings) + "_listings";
  bench::metric("match_p50_ms" + suffix, bench::percentile(ms, 0.5), "ms");
  bench::metric("match_p99_ms" + suffix, bench::percentile(ms, 0.99), "ms");
  bench::metric("match_results_per_query" + suffix,
                static_cast<double>(found) / static_cast<double>(queries), "matches");
}

}  // namespace

int main() {
  register_agreements_codes();
  std::vector<size_t> sizes =
      bench::quick() ? std::vector<size_t>{1000} : std::vector<size_t>{10'000, 100'000};
  // GRIDPACT_BENCH_AGREEMENTS=n: bill n agreements only (profiling one size).
  if (const char* only = std::getenv("GRIDPACT_BENCH_AGREEMENTS"))
    sizes = {std::strtoull(only, nullptr, 10)};
  for (size_t n : sizes) bench::metric("bill_" + std::to_string(n) + "_agreements_s", bill(n), "s");
  matching(bench::quick() ? 10'000 : 100'000, bench::quick() ? 200 : 1000);
  return 0;
}
