// Billing: each ended period of an active agreement is billed from its meters and paid by
// the host through the bank; arrears, the penalty and default follow the terms. end_block
// processes the due index, on several threads when it is large (ledger/parallel.hpp).
#include <cstring>

#include "ledger/parallel.hpp"
#include "modules/agreements/change_log.hpp"
#include "modules/agreements/events.hpp"
#include "modules/agreements/handlers.hpp"
#include "modules/bank/bank.hpp"

namespace gridpact::agreements {

namespace {

uint64_t window_end(const Billing& b, uint32_t k) {
  return b.start_ms + b.period_ms * (k + 1ull);
}
// When period k is billed: its end plus the time its last reading needs to arrive.
uint64_t bill_time(const Billing& b, uint32_t k, uint64_t lag) {
  return sat_add(window_end(b, k), lag);
}

}  // namespace

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

namespace {

// The asset leaves the agreement: back to its owner, or to the host on a transfer.
void release_asset(StateOverlay& s, const Work& w, bool transfer_to_host, Effects& fx) {
  auto asset = find_asset(s, w.b.asset);
  if (!asset) return;  // cannot happen: assets are never deleted
  asset->agreement = 0;
  if (transfer_to_host) asset->owner = w.b.accounts[w.b.host];
  s.put(asset_key(asset->id), encode_asset_state(*asset));
  fx.log(LogKind::kAsset, asset->id);
}

}  // namespace

void close(StateOverlay& s, Work& w, Status8 status, uint64_t now, Effects& fx) {
  w.st.status = status;
  w.st.closed_ms = now;
  if (status != Status8::kEnded) release_asset_meter(s, w.b, w.id, now);
  release_asset(s, w, status == Status8::kEnded && w.b.disposition == Disposition::kTransferToHost,
                fx);
}

namespace {

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

// At default, the host's balance goes to its arrears, party by party in their order, before
// the asset leaves; what it cannot pay stays on record.
void collect_what_the_host_has(StateOverlay& s, Work& w) {
  const PublicKey& host = w.b.accounts[w.b.host];
  for (size_t i = 0; i < w.st.arrears.size() && i < w.b.parties; ++i) {
    uint64_t part = std::min(w.st.arrears[i], bank::balance(s, host));
    if (i == w.b.host || part == 0) continue;
    if (!bank::transfer(s, host, w.b.accounts[i], part)) continue;
    w.st.arrears[i] -= part;
    w.st.total_paid = sat_add(w.st.total_paid, part);
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

}  // namespace

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
  // Bounded work: an agreement far behind (one that started in the past) bills this many
  // periods now and the rest in the next blocks, oldest first; the due index keeps it due.
  uint64_t budget = read_u64_param(s, "agreements.max_periods_billed_per_block");
  while (w.st.status == Status8::kActive) {
    if (w.st.billed_periods < b.periods && now >= bill_time(b, w.st.billed_periods, w.lag)) {
      if (budget == 0) break;
      budget--;
      log_billed();
      last_billed = bill_one(s, w, height, tally);
      unlogged = true;
      changed = true;
      continue;
    }
    uint64_t arrears = w.st.arrears_total();
    if (arrears > 0 && b.default_ms > 0 && now >= sat_add(w.st.arrears_since_ms, b.default_ms)) {
      log_billed();
      collect_what_the_host_has(s, w);
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
    ctx.events.push_back(make_event(BillingEvent{tally}));
}

}  // namespace gridpact::agreements
