// Minting: each final period's renewable export, at the diversity rate, capped per epoch,
// shared under agreements (the rules are in tokens.hpp and docs/tokens.md).
#include <cstdio>
#include <map>
#include <set>

#include "ledger/parallel.hpp"
#include "modules/agreements/agreements.hpp"
#include "modules/tokens/keys.hpp"

namespace gridpact::tokens::detail {
namespace {

// One meter's export in one period, as read from the meters module.
struct Export {
  uint64_t period = 0;
  Hash32 meter;
  PublicKey owner;
  std::string microgrid;
  meters::Source source = meters::Source::kPv;
  bool is_virtual = false;
  uint64_t wh = 0;
};

std::string hex16(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

// The market's settlement of `period` is still pending (market.hpp: market/unsettled/).
bool market_unsettled(const StateReader& s, uint64_t period) {
  return s.get("market/unsettled/" + hex16(period) + "/" + std::string("electricity")).has_value();
}

// Every renewable export of periods [lo, hi] that may mint, in meter id order. The meter
// records come from one ordered scan (no read per meter); each meter's readings of those
// periods are point reads (never a scan of its whole history). Decoding and reading are
// split over `workers` threads in contiguous chunks, concatenated in chunk order.
std::vector<Export> read_exports(const StateReader& s, const Params& p, uint64_t lo, uint64_t hi,
                                 size_t workers) {
  std::vector<std::pair<Hash32, std::string>> recs;
  constexpr std::string_view kPrefix = "meters/m/";
  s.scan(kPrefix, [&](std::string_view k, std::string_view v) {
    if (k.size() == kPrefix.size() + 32)
      recs.emplace_back(
          Hash32::from_span(reinterpret_cast<const uint8_t*>(k.data() + kPrefix.size())),
          std::string(v));
    return true;
  });
  size_t tasks = std::max<size_t>(1, std::min(workers, recs.size() / 256 + 1));
  std::vector<std::vector<Export>> parts(tasks);
  run_parallel(tasks, [&](size_t t) {
    size_t from = recs.size() * t / tasks, to = recs.size() * (t + 1) / tasks;
    for (size_t i = from; i < to; ++i) {
      const Hash32& id = recs[i].first;
      auto m = meters::decode_meter(recs[i].second, id);
      if (!m || m->revoked || !meters::is_renewable(m->source)) continue;
      bool is_virtual = m->platform == attest::Platform::kVirtual;
      if (is_virtual && !p.allow_virtual) continue;
      for (uint64_t period = lo; period <= hi; ++period) {
        auto r = meters::stored_reading(s, id, period);
        if (!r || !r->contiguous || r->export_delta_wh == 0) continue;
        parts[t].push_back(
            {period, id, m->owner, m->microgrid, m->source, is_virtual, r->export_delta_wh});
      }
    }
  });
  std::vector<Export> out;
  for (auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// The meters that an active agreement's asset measures, with the terms that share them.
struct Covered {
  uint64_t agreement = 0;
  agreements::Terms terms;
};
std::map<Hash32, Covered> covered_meters(const StateReader& s) {
  std::map<Hash32, Covered> out;
  constexpr std::string_view kPrefix = "agr/asset/";
  std::vector<uint64_t> ids;
  s.scan(kPrefix, [&](std::string_view k, std::string_view) {
    if (auto id = decode_u64(k.substr(kPrefix.size()))) ids.push_back(*id);
    return true;
  });
  for (uint64_t id : ids) {
    auto a = agreements::find_asset(s, id);
    if (!a || a->agreement == 0) continue;
    auto st = agreements::find_agreement(s, a->agreement);
    auto terms = agreements::find_terms(s, a->agreement);
    if (!st || !terms || st->status != agreements::Status8::kActive) continue;
    out[a->meter] = {a->agreement, std::move(*terms)};
  }
  return out;
}

// Who receives `amount` minted for a meter its agreement covers (tokens.hpp). Merged by
// account, in the order the terms name them.
std::vector<std::pair<PublicKey, uint64_t>> shares_of(const Covered& c, const PublicKey& owner,
                                                      uint64_t amount) {
  std::vector<std::pair<PublicKey, uint64_t>> out;
  auto give = [&](const PublicKey& who, uint64_t v) {
    if (v == 0) return;
    for (auto& [k, have] : out)
      if (k == who) {
        have += v;
        return;
      }
    out.emplace_back(who, v);
  };
  const agreements::Terms& t = c.terms;
  if (t.host_token_share_bps) {  // the terms' own token share: host, then the owner
    auto host = t.role_index(agreements::Role::kHost);
    auto own = t.role_index(agreements::Role::kOwner);
    uint64_t h = host ? mul_div(amount, *t.host_token_share_bps, agreements::kBps) : 0;
    if (host) give(t.parties[*host].account, h);
    give(own ? t.parties[*own].account : owner, amount - h);
    return out;
  }
  uint64_t rest = amount;
  if (auto host = t.role_index(agreements::Role::kHost)) {
    uint64_t h = mul_div(amount, t.rebate_bps, agreements::kBps);
    give(t.parties[*host].account, h);
    rest -= h;
  }
  const auto& shares = !t.energy_shares.empty() ? t.energy_shares : t.surplus_shares;
  if (shares.empty()) {
    give(owner, rest);
    return out;
  }
  uint64_t given = 0;
  for (const auto& sh : shares) given += mul_div(rest, sh.bps, agreements::kBps);
  for (size_t i = 0; i < shares.size(); ++i) {
    uint64_t part = mul_div(rest, shares[i].bps, agreements::kBps);
    if (i == 0) part += rest - given;  // the rounding remainder
    size_t who = shares[i].party;
    give(who < t.parties.size() ? t.parties[who].account : owner, part);
  }
  return out;
}

// Mints period p from its exports (in meter id order).
void mint_period(BlockContext& ctx, const Params& prm, uint64_t p, std::vector<Export> exports,
                 const std::map<Hash32, Covered>& covered) {
  StateOverlay& s = ctx.state;
  // Each Wh mints once: a meter already minted for p is left out.
  std::erase_if(exports, [&](const Export& e) { return keys::kMinted.has(s, {e.meter, p}); });

  // The window's aggregates include this period before any rate is computed, so that no
  // rate depends on the order of the meters.
  std::map<std::pair<std::string, uint8_t>, uint64_t> mix;
  std::map<PublicKey, SourceMarks> marks;  // each owner's record: one read, one write
  for (const Export& e : exports) {
    auto src = static_cast<uint8_t>(e.source);
    mix[{e.microgrid, src}] += e.wh;
    marks[e.owner];
  }
  for (auto& [owner, m] : marks) m = keys::kOwnerSources.get(s, owner).value_or(SourceMarks{});
  for (const Export& e : exports) marks[e.owner].last[static_cast<size_t>(e.source)] = p + 1;
  for (const auto& [owner, m] : marks) keys::kOwnerSources.put(s, owner, m);
  std::vector<std::string> grids;
  for (const auto& [k, wh] : mix) {
    keys::kMix.put(s, {k.first, p, k.second}, wh);
    if (grids.empty() || grids.back() != k.first) grids.push_back(k.first);
  }
  // Entries beyond the longest window a parameter can name are of no use again.
  if (p + 1 > kMaxWindow)
    for (const auto& g : grids) {
      std::vector<keys::MixKey> old;
      keys::kMix.range(s, {g, 0, 0}, keys::MixKey{g, p + 1 - kMaxWindow, 0}, SIZE_MAX,
                       [&](const keys::MixKey& k, uint64_t) {
                         old.push_back(k);
                         return true;
                       });
      for (const auto& k : old) keys::kMix.erase(s, k);
    }

  std::map<std::string, std::array<uint64_t, 5>> windows;
  std::vector<MintRecord> records(exports.size());
  uint64_t total = 0;
  for (size_t i = 0; i < exports.size(); ++i) {
    const Export& e = exports[i];
    auto w = windows.find(e.microgrid);
    if (w == windows.end())
      w = windows.emplace(e.microgrid, microgrid_window(s, prm, e.microgrid, p)).first;
    const uint64_t sources = sources_in_window(prm, marks[e.owner], p);
    uint64_t all = 0;
    for (int src = 1; src <= 4; ++src) all += w->second[src];
    MintRecord& r = records[i];
    r.owner = e.owner;
    r.source = e.source;
    r.microgrid = e.microgrid;
    r.is_virtual = e.is_virtual;
    r.wh = e.wh;
    r.sources = sources;
    r.share_ppm = mul_div(w->second[static_cast<size_t>(e.source)], kPpm, all);
    r.owner_factor_ppm = owner_factor_ppm(prm, r.sources);
    r.scarcity_factor_ppm = scarcity_factor_ppm(prm, r.share_ppm);
    r.rate = rate_per_kwh(prm, e.source, r.owner_factor_ppm, r.scarcity_factor_ppm);
    r.amount = mul_div(e.wh, r.rate, 1000);
    total = checked_add(total, r.amount).value_or(UINT64_MAX);
  }

  // The epoch's cap: beyond the room left, every amount is scaled pro rata.
  uint64_t epoch = p / prm.epoch_periods;
  uint64_t used = keys::kEpochs.get(s, epoch).value_or(0);
  uint64_t room = prm.epoch_cap > used ? prm.epoch_cap - used : 0;
  uint64_t uncapped = total;
  if (total > room) {
    total = 0;
    for (auto& r : records) {
      r.amount = mul_div(r.amount, room, uncapped);
      total += r.amount;
    }
  }

  // Who receives what: each account's amounts summed and credited once (one balance read
  // and write per account, in account order), not once per meter.
  MintedEvent ev{p, exports.size(), 0, 0, 0, uncapped};
  std::vector<std::vector<std::pair<PublicKey, uint64_t>>> shares(exports.size());
  std::map<PublicKey, uint64_t> gains;
  for (size_t i = 0; i < exports.size(); ++i) {
    const Export& e = exports[i];
    ev.wh += e.wh;
    if (e.is_virtual) ev.virtual_wh += e.wh;
    auto c = covered.find(e.meter);
    if (c == covered.end()) {
      shares[i] = {{e.owner, records[i].amount}};
    } else {
      records[i].agreement = c->second.agreement;
      shares[i] = shares_of(c->second, e.owner, records[i].amount);
    }
    for (const auto& [who, amount] : shares[i])
      gains[who] = checked_add(gains[who], amount).value_or(UINT64_MAX);
  }
  // Only what is credited counts as minted (a balance at 2^64 takes no more: that account
  // gets nothing of the period).
  std::set<PublicKey> refused;
  for (const auto& [who, amount] : gains) {
    if (credit(s, who, amount))
      ev.amount += amount;
    else
      refused.insert(who);
  }
  for (size_t i = 0; i < exports.size(); ++i) {
    const Export& e = exports[i];
    const MintRecord& r = records[i];
    keys::kMinted.put(s, {e.meter, p}, r);
    if (r.agreement == 0) continue;  // the owner's history reads its meters' records
    for (const auto& [who, amount] : shares[i])
      if (!refused.count(who))
        keys::kHistory.put(s, {who, p, e.meter},
                           MintShare{e.source, e.is_virtual, e.wh, amount, r.rate, r.agreement});
  }
  keys::kEpochs.put(s, epoch, used + ev.amount);
  keys::kMintLog.put(s, {ctx.block.height, p}, {});
  Supply sup = supply(s);
  sup.minted += ev.amount;
  put_supply(s, sup);
  ctx.events.push_back(make_event(ev));
}

}  // namespace

void mint_final_periods(BlockContext& ctx, size_t workers) {
  StateOverlay& s = ctx.state;
  const meters::PeriodSchedule schedule(s);
  if (schedule.length_ms() == 0) return;
  auto next = keys::kNext.get(s);
  if (!next) {  // the first block: minting starts with the period in progress
    keys::kNext.put(s, schedule.at(ctx.block.time_ms));
    return;
  }
  const bool market = s.get(param_key("market.settlement_deadline_ms")).has_value();
  const uint64_t deadline = market ? read_u64_param(s, "market.settlement_deadline_ms") : 0;
  uint64_t lo = *next, hi = lo;
  auto final = [&](uint64_t p) {
    uint64_t end = schedule.end_ms(p);
    uint64_t lag = market ? deadline : end - schedule.start_ms(p);
    return end + lag <= ctx.block.time_ms && !market_unsettled(s, p);
  };
  while (hi - lo < kMaxPeriodsPerBlock && final(hi)) ++hi;
  if (hi == lo) return;  // [lo, hi) are final
  Params prm = load_params(s);
  std::vector<Export> exports = read_exports(s, prm, lo, hi - 1, workers);
  std::map<Hash32, Covered> covered = covered_meters(s);
  std::map<uint64_t, std::vector<Export>> by_period;
  for (auto& e : exports) by_period[e.period].push_back(std::move(e));
  for (uint64_t p = lo; p < hi; ++p) {
    auto it = by_period.find(p);
    if (it == by_period.end()) continue;
    mint_period(ctx, prm, p, std::move(it->second), covered);
  }
  keys::kNext.put(s, hi);
}

}  // namespace gridpact::tokens::detail
