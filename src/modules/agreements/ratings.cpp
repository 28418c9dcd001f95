// Ratings: owner and host rate each other after a settled period of their agreement, buyer
// and seller after a settled market trade; a score is a Bayesian average weighted by the
// settled value.
#include "modules/agreements/change_log.hpp"
#include "modules/agreements/events.hpp"
#include "modules/agreements/handlers.hpp"
#include "modules/market/market.hpp"

namespace gridpact::agreements {

uint64_t rating_milli(const RatingTotals& t) {
  u128 num = static_cast<u128>(kPriorWeight) * 3000 + static_cast<u128>(t.weighted_sum) * 1000;
  u128 den = static_cast<u128>(kPriorWeight) + t.weight;
  return static_cast<uint64_t>(num / den);
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

// A score's weight: the settled value in whole units, + 1 (so that a rating of a period or
// trade that moved no money still counts), bounded; and all of one rater's scores of one
// ratee together weigh at most kMaxCounterpartyWeight, as much as the prior. Two keys of
// one person who pay each other every period (the money comes back) can then move the
// other's score at most halfway from the prior to their score, once: a good reputation
// needs many counterparties.
namespace {

uint64_t rating_weight(StateOverlay& s, const PublicKey& ratee, const PublicKey& rater,
                       uint64_t settled_micro) {
  uint64_t weight = std::min<uint64_t>(settled_micro / 1'000'000 + 1, 1'000'000'000);
  std::string key = "agr/rpair/" + std::string(ratee.view()) + std::string(rater.view());
  uint64_t given = 0;
  if (auto v = s.get(key)) given = decode_u64(*v).value_or(0);
  weight = std::min(weight, kMaxCounterpartyWeight - std::min(given, kMaxCounterpartyWeight));
  s.put(key, encode_u64(given + weight));
  return weight;
}

}  // namespace

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
  uint64_t weight = rating_weight(ctx.state, ratee, ctx.tx.sender, pm->due);
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
  uint64_t weight = rating_weight(ctx.state, ratee, me, t->settled_micro);
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

}  // namespace gridpact::agreements
