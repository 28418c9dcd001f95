#include "sim/readback.hpp"

#include "modules/agreements/agreements.hpp"
#include "modules/bank/bank.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"
#include "modules/tokens/tokens.hpp"

namespace gridpact::sim {

namespace {

// Tokens: each account's balance, and each generating meter's mint records by source.
void read_back_tokens(const ChainView& v, RunResult& r) {
  const uint64_t K = r.scenario.total_periods();
  for (size_t i = 0; i < r.households.size(); ++i)
    r.households[i].tokens_micro = tokens::balance(v.store, v.accounts[i]);
  auto add_meter = [&](const Hash32& meter) {
    bool minted = false;
    for (uint64_t q = 0; q < K; ++q) {
      auto rec = tokens::mint_record(v.store, meter, v.first_period + q);
      if (!rec) continue;
      TokenSource& t = r.tokens_by_source[std::string(meters::source_name(rec->source))];
      if (t.per_period.empty()) t.per_period.assign(K, 0);
      t.wh += rec->wh;
      t.tokens_micro += rec->amount;
      t.per_period[q] += rec->amount;
      t.meters += !minted;
      minted = true;
    }
  };
  for (size_t i = 0; i < r.households.size(); ++i) {
    add_meter(v.meters[i]);
    if (r.households[i].role == Role::kOwner) add_meter(v.asset_meters[i]);
  }
}

}  // namespace

void read_back(const ChainView& v, RunResult& r) {
  const Scenario& s = r.scenario;
  const Community& c = v.community;
  const size_t n = c.households.size();
  const uint64_t K = s.total_periods();
  for (size_t i = 0; i < n; ++i) {
    const Household& h = c.households[i];
    HouseholdResult& out = r.households[i];
    out.index = h.index;
    out.role = h.role;
    out.account = v.accounts[i].hex();
    out.microgrid = h.microgrid;
    out.pv_kwp = h.pv_kwp;
    out.wind_kw = h.wind_kw;
    out.battery_kwh = static_cast<double>(h.battery.capacity_wh) / 1000.0;
    for (uint64_t q = 0; q < K; ++q) {
      out.load_wh += c.flows[i].load[q];
      out.generation_wh += c.flows[i].generation[q];
    }
    if (auto last = meters::last_reading(v.store, v.meters[i])) {
      out.import_wh = last->import_wh;
      out.export_wh = last->export_wh;
    }
    if (h.role == Role::kOwner)
      if (auto last = meters::last_reading(v.store, v.asset_meters[i]))
        out.asset_export_wh = last->export_wh;
    for (uint64_t q = 0; q < K; ++q) {
      PeriodResult& p = r.periods[q];
      if (auto e = meters::period_energy(v.store, v.meters[i], v.first_period + q)) {
        p.import_wh += e->import_wh;
        p.export_wh += e->export_wh;
      }
      auto st =
          market::find_settlement(v.store, market::kElectricity, v.first_period + q, v.accounts[i]);
      if (!st) continue;
      uint64_t peer_in = st->received_wh - std::min(st->received_wh, st->grid_wh);
      uint64_t peer_out = st->delivered_wh - std::min(st->delivered_wh, st->spilled_wh);
      out.bought_wh += peer_in;
      out.sold_wh += peer_out;
      out.market_paid += static_cast<int64_t>(st->paid);
      out.market_received += static_cast<int64_t>(st->received);
      p.peer_wh += peer_in;
    }
    const uint64_t held =
        bank::balance(v.store, v.accounts[i]) + bank::locked(v.store, v.accounts[i]);
    out.cost = static_cast<int64_t>(v.start_balance) - static_cast<int64_t>(held);
  }
  for (uint64_t q = 0; q < K; ++q) {
    PeriodResult& p = r.periods[q];
    for (size_t i = 0; i < n; ++i) {
      p.load_wh += c.flows[i].load[q];
      p.generation_wh += c.flows[i].generation[q] + c.flows[i].asset_wh[q];
    }
    auto t = v.market.query(v.store, "trades", {{"period", std::to_string(p.period)}});
    if (!t) continue;
    market::uint128 value = 0;
    for (const auto& tr : (*t)["trades"]) {
      uint64_t qty = tr["qty_wh"].get<uint64_t>();
      p.traded_wh += qty;
      value += static_cast<market::uint128>(qty) * tr["price"].get<uint64_t>();
      p.fees_micro += qty * tr["fee"].get<uint64_t>() / 1000;
    }
    if (p.traded_wh > 0) p.avg_price = static_cast<int64_t>(value / p.traded_wh);
    r.dso_fees_micro += p.fees_micro;
  }
  // Agreements: each day's billing record.
  for (AgreementResult& a : r.agreements) {
    if (auto st = agreements::find_agreement(v.store, a.id))
      a.status = std::string(agreements::status_name(st->status));
    for (uint32_t d = 0; d < s.days; ++d) {
      auto pay = agreements::find_payment(v.store, a.id, d);
      int64_t paid = pay && pay->status != agreements::PaymentStatus::kMissed
                         ? static_cast<int64_t>(pay->due)
                         : 0;
      a.paid_per_day.push_back(paid);
      if (pay) a.billed_wh += pay->billed_wh;
      r.households[a.host].agreement_paid += paid;
      r.households[a.owner].agreement_received += paid;
    }
    r.households[a.host].hosted_wh += a.billed_wh;
  }
  read_back_tokens(v, r);
  for (HouseholdResult& h : r.households)
    h.baseline = static_cast<int64_t>(h.import_wh + h.hosted_wh) *
                     static_cast<int64_t>(s.retail_tariff) / 1000 -
                 static_cast<int64_t>(h.export_wh) * static_cast<int64_t>(s.feed_in_tariff) / 1000;
}

}  // namespace gridpact::sim
