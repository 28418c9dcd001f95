#include "sim/run.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <set>
#include <sstream>

#include "modules/agreements/agreements.hpp"
#include "modules/bank/bank.hpp"
#include "modules/governance/governance.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"
#include "modules/meters/testing.hpp"
#include "modules/tokens/tokens.hpp"
#include "node/genesis.hpp"
#include "sim/ledger.hpp"
#include "sim/readback.hpp"
#include "sim/tpm_meters.hpp"

namespace gridpact::sim {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kChainId = "gridpact-sim";
constexpr uint64_t kDayMs = 86'400'000;
constexpr uint64_t kStartBalance = 1'000'000'000;         // 1,000 units per household
constexpr uint64_t kOperatorBalance = 1'000'000'000'000;  // the grid operator's float

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Keys follow from the scenario's seed, so that the same seed gives the same chain. They
// are simulation keys of a development chain, not secrets.
KeyPair derive_key(uint64_t seed, std::string_view what, uint64_t i) {
  return KeyPair::from_seed(sha256("gridpact-sim/" + std::string(what) + "/" +
                                   std::to_string(seed) + "/" + std::to_string(i)));
}

std::string microgrid_name(uint32_t m) {
  return "mg-" + std::to_string(m + 1);
}

std::string genesis_toml(const Scenario& s, uint64_t time_ms, const PublicKey& validator,
                         const PublicKey& issuer, const PublicKey& operator_key,
                         const std::vector<PublicKey>& accounts, const TpmMeters* tpm) {
  std::ostringstream t;
  t << "# A simulated community (gridpact simulate). Development chain: INSECURE keys.\n"
    << "chain_id = \"" << kChainId << "\"\ndevelopment = true\ntime_ms = " << time_ms << "\n\n"
    << "[validator]\npublic_key = \"" << validator.hex() << "\"\n\n"
    << "[block]\ninterval_ms = 100\nidle_interval_ms = 1000\nmax_txs = 20000\n\n"
    << "[bank]\nissuer = \"" << issuer.hex() << "\"\n\n[bank.balances]\n"
    << "\"" << operator_key.hex() << "\" = " << kOperatorBalance << "\n";
  for (const auto& a : accounts) t << "\"" << a.hex() << "\" = " << kStartBalance << "\n";
  t << "\n[agreements]\n\n[meters]\nperiod_ms = " << s.period_ms()
    << "\nallow_virtual = true\nauthority = \"" << issuer.hex() << "\"\n";
  // TPM meters (--tpm): the run's enrolment CA and the firmware they measure.
  if (tpm)
    t << "trusted_roots = \"\"\"\n"
      << tpm->trusted_root_pem() << "\"\"\"\nallowed_measurements = [\""
      << tpm->firmware_measurement().hex() << "\"]\n";
  t << "\n[market]\noperator = \"" << operator_key.hex() << "\"\nrule = \"" << s.price_rule
    << "\"\nretail_tariff = " << s.retail_tariff << "\nfeed_in_tariff = " << s.feed_in_tariff
    << "\ngate_closure_ms = 0\nsettlement_deadline_ms = " << 4 * s.period_ms()
    << "\nmax_periods_ahead = " << s.price_updates + 2 << "\n";
  // Virtual meters mint green tokens, labelled virtual (a development chain's policy).
  t << "\n[tokens]\nallow_virtual = true\n";
  for (uint32_t a = 0; a < s.microgrids; ++a) {
    t << "\n[market.fees." << microgrid_name(a) << "]\n";
    for (uint32_t b = 0; b < s.microgrids; ++b)
      t << microgrid_name(b) << " = " << (a == b ? 0 : s.fee_between) << "\n";
  }
  return t.str();
}

json query(Module& m, const StateReader& s, std::string_view path, const json& params) {
  auto r = m.query(s, path, params);
  return r ? *r : json();
}

int64_t ceil_micro(uint64_t wh, uint64_t price) {
  return static_cast<int64_t>((static_cast<market::uint128>(wh) * price + 999) / 1000);
}
int64_t floor_micro(uint64_t wh, uint64_t price) {
  return static_cast<int64_t>(static_cast<market::uint128>(wh) * price / 1000);
}

}  // namespace

Result<RunResult> run_simulation(const Scenario& s, const RunOptions& o) {
  const auto start = Clock::now();
  RunResult r;
  r.scenario = s;
  Community c = build_community(s, o.threads);
  r.timing.model_s = since(start);

  const uint32_t n = s.households;
  const uint64_t P = s.period_ms(), K = s.total_periods(), D = s.periods_per_day();
  const uint64_t start_ms = static_cast<uint64_t>(start_day(s)) * kDayMs;
  const uint64_t p0 = start_ms / P;
  const uint32_t U = s.price_updates;

  // TPM meters (--tpm N): the first N prosumers' connection meters, each on its swtpm,
  // stopped when `tpm` goes (on every return below).
  const uint64_t genesis_ms = start_ms - 12 * P;
  std::unique_ptr<TpmMeters> tpm;
  std::vector<meteragent::Platform*> tpm_of(n, nullptr);
  if (o.tpm_meters > 0) {
    std::vector<uint32_t> chosen;
    for (uint32_t i = 0; i < n && chosen.size() < o.tpm_meters; ++i)
      if (c.households[i].role == Role::kProsumer) chosen.push_back(i);
    if (chosen.size() < o.tpm_meters)
      return error(Code::kInvalidArgument, "--tpm " + std::to_string(o.tpm_meters) +
                                               ": the community has only " +
                                               std::to_string(chosen.size()) + " prosumers");
    auto started = TpmMeters::start(o.tpm_meters, static_cast<int64_t>(genesis_ms / 1000) - 86'400);
    if (!started) return started.status();
    tpm = std::move(started).value();
    for (size_t k = 0; k < chosen.size(); ++k) {
      tpm_of[chosen[k]] = &tpm->meter(k);
      r.tpm_meters.push_back({chosen[k], tpm->meter(k).meter_id().hex(), 0});
    }
  }

  // Accounts and meters.
  const KeyPair validator = derive_key(s.seed, "validator", 0);
  const KeyPair issuer = derive_key(s.seed, "issuer", 0);
  const KeyPair operator_key = derive_key(s.seed, "operator", 0);
  std::vector<KeyPair> keys, meter_keys, asset_meter_keys;
  std::vector<PublicKey> accounts;
  for (uint32_t i = 0; i < n; ++i) {
    keys.push_back(derive_key(s.seed, "household", i));
    meter_keys.push_back(derive_key(s.seed, "meter", i));
    asset_meter_keys.push_back(derive_key(s.seed, "asset-meter", i));
    accounts.push_back(keys.back().public_key());
  }
  std::vector<Hash32> meter(n), asset_meter(n);
  for (uint32_t i = 0; i < n; ++i) {
    meter[i] = tpm_of[i] ? tpm_of[i]->meter_id() : meters::virtual_meter_id(meter_keys[i]);
    asset_meter[i] = meters::virtual_meter_id(asset_meter_keys[i]);
  }

  Ledger ledger(o, r);
  if (Status st =
          ledger.open(genesis_toml(s, genesis_ms, validator.public_key(), issuer.public_key(),
                                   operator_key.public_key(), accounts, tpm.get()));
      !st)
    return st;
  Module& agreements_module = ledger.module("agreements");
  Module& market_module = ledger.module("market");
  const uint64_t total_blocks = 4 + (K + U + 4);
  uint64_t blocks_done = 0;
  auto apply_block = [&](Ledger::Prepared prepared, uint64_t time_ms,
                         const std::function<bool()>& spare_core = {}) -> Status {
    Status st = ledger.apply(std::move(prepared), time_ms, validator, spare_core);
    if (o.progress) o.progress(++blocks_done, total_blocks);
    return st;
  };
  auto run_block = [&](std::vector<Pending> txs, uint64_t time_ms) -> Status {
    auto prepared = ledger.prepare(std::move(txs));
    if (!prepared) return prepared.status();
    return apply_block(std::move(prepared).value(), time_ms);
  };
  // The four setup blocks run in the four periods before the first (meters register in
  // p0 - 4; the last setup block, in p0 - 1, carries their readings of p0 - 4 .. p0 - 1).
  auto setup_time = [&](uint64_t j) { return start_ms - (4 - j) * P + 1000; };

  std::vector<uint64_t> seq(n, 0), asset_seq(n, 0);  // the meters' reading sequences
  // Setup 1: meters. Prosumers meter generation at their connection (they may offer
  // surplus); owners meter their leased systems separately. A host's connection meter also
  // sees the leased system's energy, which its asset meter already mints for: the host's
  // meter is registered as a grid connection (it may offer surplus, but it is not a
  // renewable source and mints nothing), so no Wh mints twice.
  {
    std::vector<Pending> txs;
    std::vector<std::pair<uint32_t, bool>> which;
    for (uint32_t i = 0; i < n; ++i) {
      const Household& h = c.households[i];
      meters::RegisterPayload f;
      f.microgrid = microgrid_name(h.microgrid);
      f.source = h.role == Role::kProsumer ? (h.pv_kwp == 0 && h.wind_kw > 0 ? meters::Source::kWind
                                                                             : meters::Source::kPv)
                 : h.role == Role::kHost   ? meters::Source::kGrid
                                           : meters::Source::kConsumer;
      f.location = "household " + std::to_string(i);
      f.firmware_version = "sim-1";
      if (tpm_of[i]) {  // evidence from the TPM: a quote of PCR 16 and the key certified
        auto reg = meteragent::registration(*tpm_of[i], kChainId, accounts[i], f);
        if (!reg) return reg.status();
        txs.push_back({&keys[i], meters::kRegister, meters::encode(*reg), nullptr, {}, nullptr});
      } else {
        txs.push_back(
            {&keys[i],
             meters::kRegister,
             meters::encode(meters::virtual_registration(meter_keys[i], accounts[i], kChainId, f)),
             nullptr,
             {},
             nullptr});
      }
      if (h.role == Role::kOwner) {
        f.source = meters::Source::kPv;
        f.location = "leased system of household " + std::to_string(i);
        txs.push_back({&keys[i],
                       meters::kRegister,
                       meters::encode(meters::virtual_registration(asset_meter_keys[i], accounts[i],
                                                                   kChainId, f)),
                       nullptr,
                       {},
                       nullptr});
      }
    }
    if (Status st = run_block(std::move(txs), setup_time(0)); !st) return st;
  }
  // Setup 2: owners list their systems, hosts their premises.
  {
    std::vector<Pending> txs;
    for (uint32_t i : c.owners) {
      const Household& h = c.households[i];
      agreements::Asset a;
      a.type = agreements::AssetType::kPv;
      a.capacity_w = static_cast<uint64_t>(std::llround(h.leased_pv_kwp * 1000));
      a.meter = asset_meter[i];
      a.microgrid = microgrid_name(h.microgrid);
      a.lat_e6 = std::llround(h.lat * 1e6);
      a.lon_e6 = std::llround(h.lon * 1e6);
      a.price_micro_per_kwh = s.lease_tariff;
      a.name = "pv of household " + std::to_string(i);
      txs.push_back(
          {&keys[i], agreements::kRegisterAsset, agreements::encode(a), nullptr, {}, nullptr});
    }
    for (uint32_t i : c.hosts) {
      const Household& h = c.households[i];
      agreements::Premises p;
      p.area_m2 = 80;
      p.lat_e6 = std::llround(h.lat * 1e6);
      p.lon_e6 = std::llround(h.lon * 1e6);
      p.microgrid = microgrid_name(h.microgrid);
      p.preferred_types = agreements::type_bit(agreements::AssetType::kPv);
      p.expected_consumption_wh = static_cast<uint64_t>(h.annual_kwh * 1000);
      p.meter = meter[i];
      p.name = "roof of household " + std::to_string(i);
      txs.push_back(
          {&keys[i], agreements::kRegisterPremises, agreements::encode(p), nullptr, {}, nullptr});
    }
    if (Status st = run_block(std::move(txs), setup_time(1)); !st) return st;
  }
  // Matching: each host, in order, takes the best-ranked system still free.
  std::map<uint64_t, uint32_t> asset_owner;  // asset id -> owner household
  for (size_t k = 0; k < c.owners.size(); ++k) asset_owner[k + 1] = c.owners[k];
  std::vector<int64_t> owner_of_host(c.hosts.size(), -1);
  std::vector<std::pair<uint64_t, uint32_t>> host_asset(c.hosts.size(), {0, 0});
  {
    std::set<uint64_t> taken;
    for (size_t k = 0; k < c.hosts.size(); ++k) {
      json m = query(agreements_module, ledger.store(), "match",
                     {{"premises", std::to_string(k + 1)}, {"limit", "1000"}});
      if (!m.is_object()) continue;
      for (const auto& cand : m["matches"]) {
        uint64_t asset = cand["asset"].get<uint64_t>();
        if (taken.count(asset) || !asset_owner.count(asset)) continue;
        taken.insert(asset);
        owner_of_host[k] = asset_owner[asset];
        host_asset[k] = {asset, cand["score"].get<uint32_t>()};
        break;
      }
    }
  }
  apply_leases(s, c, owner_of_host, o.threads);
  // Setup 3 and 4: owners propose, hosts sign.
  std::vector<agreements::Terms> terms(c.hosts.size());
  {
    std::vector<Pending> proposals;
    for (size_t k = 0; k < c.hosts.size(); ++k) {
      if (owner_of_host[k] < 0) continue;
      auto owner = static_cast<uint32_t>(owner_of_host[k]);
      agreements::TemplateArgs a;
      a.asset = host_asset[k].first;
      a.premises = k + 1;
      a.owner = accounts[owner];
      a.host = accounts[c.hosts[k]];
      a.start_ms = start_ms;
      a.period_ms = kDayMs;
      a.periods = s.days;
      a.price_micro_per_kwh = s.lease_tariff;
      a.instalment_micro = s.lease_instalment;
      Rng pick(s.seed, 77, k);
      bool to_own = pick.uniform() < s.lease_to_own_share;
      terms[k] = to_own ? agreements::lease_to_own_template(a) : agreements::lease_template(a);
      if (to_own) {  // the host also pays for the energy it uses, at the lease tariff
        terms[k].tariff_micro_per_kwh = s.lease_tariff;
        terms[k].energy_shares = {{0, agreements::kBps}};
      }
      proposals.push_back({&keys[owner],
                           agreements::kPropose,
                           agreements::encode_terms(terms[k]),
                           nullptr,
                           {},
                           nullptr});
    }
    if (Status st = run_block(std::move(proposals), setup_time(2)); !st) return st;
    std::vector<Pending> signs;
    uint64_t id = 0;
    for (size_t k = 0; k < c.hosts.size(); ++k) {
      if (owner_of_host[k] < 0) continue;
      ++id;
      AgreementResult ar;
      ar.id = id;
      ar.kind = std::string(agreements::kind_name(terms[k].kind));
      ar.owner = static_cast<uint32_t>(owner_of_host[k]);
      ar.host = c.hosts[k];
      ar.asset = host_asset[k].first;
      ar.premises = k + 1;
      ar.match_score = host_asset[k].second;
      r.agreements.push_back(ar);
      signs.push_back(
          {&keys[c.hosts[k]],
           agreements::kSign,
           agreements::encode(agreements::SignPayload{id, agreements::terms_hash(terms[k])}),
           nullptr,
           {},
           nullptr});
    }
    // A meter's first reading counts only for its registration period (meters.hpp): the
    // meters report their unchanged registers for p0 - 4 .. p0 - 1, so that the run's
    // first reading, of p0, follows one and counts.
    for (uint64_t q = p0 - 4; q < p0; ++q)
      for (uint32_t i = 0; i < n; ++i) {
        signs.push_back({&keys[i],
                         meters::kReading,
                         {},
                         tpm_of[i] ? nullptr : &meter_keys[i],
                         meters::Reading{meter[i], q, ++seq[i], 0, 0, {}},
                         nullptr,
                         tpm_of[i]});
        if (c.households[i].role == Role::kOwner)
          signs.push_back({&keys[i],
                           meters::kReading,
                           {},
                           &asset_meter_keys[i],
                           meters::Reading{asset_meter[i], q, ++asset_seq[i], 0, 0, {}},
                           nullptr});
      }
    if (Status st = run_block(std::move(signs), setup_time(3)); !st) return st;
  }

  // The run: one block per period.
  r.households.resize(n);
  r.periods.resize(K);
  const uint64_t W = U + 2;  // order ids kept per household: a ring over target periods
  std::vector<Hash32> bid_ids(n * W), offer_ids(n * W);
  std::vector<uint64_t> reg_import(n, 0), reg_export(n, 0), asset_export(n, 0);
  auto price_at = [&](uint64_t from, uint64_t to, uint32_t step) -> int64_t {
    if (U == 0) return static_cast<int64_t>(to);
    return static_cast<int64_t>(from) +
           (static_cast<int64_t>(to) - static_cast<int64_t>(from)) * step / static_cast<int64_t>(U);
  };
  // The operator's bills of block k, for the previous day, once its last period has
  // settled (in block D(day+1), two blocks before): read from the store, so they are made
  // on this thread before block k-1 executes, when the blocks up to k-2 are written.
  auto bills = [&](int64_t k) {
    std::vector<Pending> txs;
    if (k < static_cast<int64_t>(D) + 2 || (k - 2) % static_cast<int64_t>(D) != 0) return txs;
    const uint64_t day = static_cast<uint64_t>(k - 2) / D - 1;
    const Store& store = ledger.store();
    for (uint32_t i = 0; i < n; ++i) {
      uint64_t imp = 0, exp = 0;
      for (uint64_t q = day * D; q < (day + 1) * D; ++q) {
        auto e = meters::period_energy(store, meter[i], p0 + q);
        if (!e) continue;
        imp += e->import_wh;
        exp += e->export_wh;
        if (auto st = market::find_settlement(store, market::kElectricity, p0 + q, accounts[i])) {
          imp -= std::min<uint64_t>(imp, st->received_wh);
          exp -= std::min<uint64_t>(exp, st->delivered_wh);
        }
      }
      const int64_t bill = ceil_micro(imp, s.retail_tariff);
      const int64_t pay = floor_micro(exp, s.feed_in_tariff);
      r.households[i].grid_paid += bill;  // confirmed below: every receipt must be ok
      r.households[i].feed_in_received += pay;
      if (bill > 0)
        txs.push_back({&keys[i],
                       bank::kTransfer,
                       bank::encode(bank::TransferPayload{
                           operator_key.public_key(), static_cast<uint64_t>(bill),
                           "grid import, day " + std::to_string(day + 1)}),
                       nullptr,
                       {},
                       nullptr});
      if (pay > 0)
        txs.push_back(
            {&operator_key,
             bank::kTransfer,
             bank::encode(bank::TransferPayload{accounts[i], static_cast<uint64_t>(pay),
                                                "feed-in, day " + std::to_string(day + 1)}),
             nullptr,
             {},
             nullptr});
    }
    return txs;
  };
  // The transactions of block k (its bills made already). Built (and signed) while block
  // k-1 executes; they read no state.
  auto build = [&](int64_t k, std::vector<Pending> bill_txs) {
    std::vector<Pending> txs;
    // Readings of period k-1.
    if (k >= 1 && k - 1 < static_cast<int64_t>(K)) {
      auto q = static_cast<uint64_t>(k - 1);
      for (uint32_t i = 0; i < n; ++i) {
        reg_import[i] += static_cast<uint64_t>(c.flows[i].import[q]);
        reg_export[i] += static_cast<uint64_t>(c.flows[i].export_wh[q]);
        // Each virtual meter sends its reading itself: the transaction's signature is the
        // meter's (meters.hpp), one signature per reading. A TPM meter signs its reading in
        // the TPM, and its household relays it.
        meters::Reading reading{meter[i], p0 + q, ++seq[i], reg_import[i], reg_export[i], {}};
        if (tpm_of[i])
          txs.push_back({&keys[i], meters::kReading, {}, nullptr, reading, nullptr, tpm_of[i]});
        else
          txs.push_back(
              {&meter_keys[i], meters::kReading, meters::encode(reading), nullptr, {}, nullptr});
        if (c.households[i].role == Role::kOwner) {
          asset_export[i] += static_cast<uint64_t>(c.flows[i].asset_wh[q]);
          txs.push_back({&asset_meter_keys[i],
                         meters::kReading,
                         meters::encode(meters::Reading{
                             asset_meter[i], p0 + q, ++asset_seq[i], 0, asset_export[i], {}}),
                         nullptr,
                         {},
                         nullptr});
        }
      }
    }
    // Orders: new ones for period k+U+1, amendments for the U periods before it.
    for (uint32_t step = 0; step <= U; ++step) {
      const int64_t target = k + static_cast<int64_t>(U) + 1 - step;
      if (target < 0 || target >= static_cast<int64_t>(K)) continue;
      auto q = static_cast<uint64_t>(target);
      for (uint32_t i = 0; i < n; ++i) {
        const Household& h = c.households[i];
        const uint64_t want = static_cast<uint64_t>(c.flows[i].import[q]);
        const uint64_t have = static_cast<uint64_t>(c.flows[i].export_wh[q]);
        Hash32& bid = bid_ids[i * W + q % W];
        Hash32& offer = offer_ids[i * W + q % W];
        if (want > 0) {
          int64_t price = price_at(s.bid_start, s.bid_limit, step);
          if (step == 0) {
            market::BidPayload b;
            b.period = p0 + q;
            b.qty = want;
            b.price = price;
            b.meter = meter[i];
            b.renewable_only = h.green_only;
            if (h.local_only)
              for (uint32_t m = 0; m < s.microgrids; ++m)
                if (m != h.microgrid) b.excluded_microgrids.push_back(microgrid_name(m));
            txs.push_back({&keys[i], market::kBid, market::encode(b), nullptr, {}, &bid});
            r.periods[q].bids++;
          } else {
            txs.push_back({&keys[i],
                           market::kAmend,
                           market::encode(market::AmendPayload{bid, want, price}),
                           nullptr,
                           {},
                           nullptr});
          }
        }
        const bool can_offer = h.role == Role::kProsumer || h.role == Role::kHost;
        if (have > 0 && can_offer) {
          // A battery's stored surplus sells in the peak, at its peak price.
          const bool peak_sale = h.battery.capacity_wh > 0 &&
                                 s.battery_peak_from != s.battery_peak_to && s.battery_peak(q);
          int64_t price = peak_sale ? static_cast<int64_t>(s.battery_peak_price)
                                    : price_at(s.offer_start, s.offer_limit, step);
          if (step == 0) {
            txs.push_back(
                {&keys[i],
                 market::kOffer,
                 market::encode(market::OfferPayload{"electricity", p0 + q, have, price, meter[i]}),
                 nullptr,
                 {},
                 &offer});
            r.periods[q].offers++;
          } else {
            txs.push_back({&keys[i],
                           market::kAmend,
                           market::encode(market::AmendPayload{offer, have, price}),
                           nullptr,
                           {},
                           nullptr});
          }
        }
      }
    }
    for (Pending& p : bill_txs) txs.push_back(std::move(p));
    return txs;
  };
  // The last blocks let the final periods pass the settlement deadline (4 periods), so that
  // they are settled and their green tokens minted (tokens.hpp: a period mints once final).
  const int64_t first = -static_cast<int64_t>(U) - 1, last = static_cast<int64_t>(K) + 4;
  auto next = ledger.prepare(build(first, bills(first)));
  for (int64_t k = first; k <= last; ++k) {
    if (!next) return next.status();
    Ledger::Prepared current = std::move(next).value();
    const uint64_t time_ms = static_cast<uint64_t>(static_cast<int64_t>(p0) + k) * P + 1000;
    // Pipelining: block k+1 is built, signed and admitted while block k executes.
    std::future<Result<Ledger::Prepared>> ahead;
    if (k < last)
      ahead = std::async(std::launch::async, [&, k, bill_txs = bills(k + 1)]() mutable {
        return ledger.prepare(build(k + 1, std::move(bill_txs)));
      });
    Status st = apply_block(std::move(current), time_ms, [&] {
      return !ahead.valid() || ahead.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    });
    if (ahead.valid()) next = ahead.get();
    if (!st) return st;
    if (k >= 0 && k < static_cast<int64_t>(K)) {
      PeriodResult& pr = r.periods[static_cast<size_t>(k)];
      pr.period = p0 + static_cast<uint64_t>(k);
      pr.time_ms = pr.period * P;
      pr.block_txs = ledger.last_block_txs();
    }
  }
  if (r.failed_transactions > 0)
    return error(Code::kInvalidArgument,
                 std::to_string(r.failed_transactions) +
                     " simulated transactions failed; the first of each kind:\n" +
                     ledger.first_failures());
  if (Status st = ledger.wait_written(); !st) return st;
  r.state_root = ledger.store().state_root().hex();
  auto t_read = Clock::now();
  read_back({ledger.store(), market_module, c, accounts, meter, asset_meter, p0, kStartBalance}, r);
  for (TpmMeterResult& t : r.tpm_meters)
    t.readings = meters::readings(ledger.store(), meter[t.household], p0, p0 + K - 1,
                                  meters::kMaxQueryResults)
                     .size();
  r.timing.read_s = since(t_read);
  r.timing.total_s = since(start);
  return r;
}

}  // namespace gridpact::sim
