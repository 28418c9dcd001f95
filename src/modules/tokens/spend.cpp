// Paying for energy with tokens, without touching the market: tokens committed to a bid
// wait until the bid's period has settled; then tokens worth the bid's settled energy value
// (at most) are burned and the pool pays the buyer that value back in currency.
#include <cstdio>

#include "modules/bank/bank.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"
#include "modules/tokens/keys.hpp"

namespace gridpact::tokens::detail {
namespace {

std::string hex16(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

// The value settled for the trades of bid `order` (market.hpp: a buyer's trades are indexed
// under market/buyer/<pk hex>/<period>/<c>/<n>; a TradeRecord starts with its bid's id;
// find_trade gives the settled value of trade n).
uint64_t settled_value(const StateReader& s, const Hash32& order, const PublicKey& buyer,
                       uint64_t period) {
  const std::string c(market::kElectricity);
  std::string prefix = "market/buyer/" + buyer.hex() + "/" + hex16(period) + "/" + c + "/";
  std::vector<uint64_t> trades;
  s.scan(prefix, [&](std::string_view k, std::string_view) {
    if (k.size() == prefix.size() + 16)
      trades.push_back(std::stoull(std::string(k.substr(prefix.size())), nullptr, 16));
    return true;
  });
  uint64_t value = 0;
  for (uint64_t n : trades) {
    auto rec = s.get("market/trade/" + c + "/" + hex16(period) + "/" + hex16(n));
    if (!rec || rec->size() < 32 || std::string_view(*rec).substr(0, 32) != order.view()) continue;
    auto t = market::find_trade(s, c, period, n);
    if (t && t->settled) value = checked_add(value, t->settled_micro).value_or(UINT64_MAX);
  }
  return value;
}

uint64_t ceil_div(uint64_t a, uint64_t b) {
  return a / b + (a % b != 0);
}

}  // namespace

void settle_commitments(BlockContext& ctx) {
  StateOverlay& s = ctx.state;
  const meters::PeriodSchedule schedule(s);
  // The ended periods with commitments, oldest first; of those whose market settlement is
  // not pending, the commitments (tokens.hpp: the bounds).
  std::vector<uint64_t> periods;
  keys::kCommitPeriods.each(s, kMaxCommitPeriodsPerBlock, [&](uint64_t period, uint64_t) {
    if (schedule.end_ms(period) > ctx.block.time_ms) return false;
    if (!s.get("market/unsettled/" + hex16(period) + "/electricity")) periods.push_back(period);
    return true;
  });
  std::vector<std::pair<Hash32, Commitment>> due;
  for (uint64_t period : periods) {
    if (due.size() >= kMaxClosedPerBlock) break;
    keys::kCommitsDue.each_with(
        s, kMaxClosedPerBlock - due.size(),
        [&](const std::pair<uint64_t, Hash32>& k, const state::Unit&) {
          if (auto c = keys::kCommits.get(s, k.second)) due.emplace_back(k.second, *c);
          return true;
        },
        period);
  }
  if (due.empty()) return;
  uint64_t rate = read_u64_param(s, "tokens.redeem_rate");
  for (const auto& [order, c] : due) {
    auto o = market::find_order(s, order);
    if (o && o->status == market::OrderStatus::kOpen) continue;  // not cleared yet
    uint64_t value = o && o->status == market::OrderStatus::kCleared
                         ? settled_value(s, order, c.owner, c.period)
                         : 0;
    // What the committed tokens are worth, what the pool can pay, and the tokens that buys.
    uint64_t worth = mul_div(c.amount, rate, kMicroPerToken);
    uint64_t cover = std::min({value, worth, pool_balance(s)});
    uint64_t burned =
        cover == 0 ? 0 : std::min(c.amount, ceil_div(mul_div(cover, kMicroPerToken, 1), rate));
    if (cover > 0 && !bank::transfer(s, pool_account(), c.owner, cover)) cover = burned = 0;
    uint64_t returned = c.amount - burned;
    keys::kCommits.erase(s, order);
    keys::kCommitsDue.erase(s, {c.period, order});
    if (uint64_t left = keys::kCommitPeriods.get(s, c.period).value_or(1) - 1; left > 0)
      keys::kCommitPeriods.put(s, c.period, left);
    else
      keys::kCommitPeriods.erase(s, c.period);
    touched(s, ctx.block.height, c.owner);
    if (returned > 0 && !credit(s, c.owner, returned)) {
      burned += returned;  // a balance at 2^64 takes no more: the rest is burned
      returned = 0;
    }
    if (burned > 0) {
      Supply sup = supply(s);
      sup.burned += burned;
      put_supply(s, sup);
    }
    if (cover > 0) {
      PoolTotals t = pool_totals(s);
      t.reimbursed += cover;
      put_pool(s, t);
    }
    ctx.events.push_back(make_event(SpentEvent{order, c.owner, value, burned, cover, returned}));
  }
}

}  // namespace gridpact::tokens::detail
