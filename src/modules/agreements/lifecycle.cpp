// The agreements lifecycle: propose, sign, amend, sign the amendment, terminate, pay arrears
// and execute (bill now). Each handler loads the agreement and authorises its sender in one
// step (load_as_party).
#include "modules/agreements/change_log.hpp"
#include "modules/agreements/events.hpp"
#include "modules/agreements/handlers.hpp"
#include "modules/bank/bank.hpp"

namespace gridpact::agreements {

// The index of `sender` among the parties of agreement `id`, or NOT_A_PARTY.
Result<size_t> party_of(const Terms& terms, const PublicKey& sender, uint64_t id) {
  auto me = terms.party_index(sender);
  if (!me) return error(kNotAParty, "you are not a party to agreement " + std::to_string(id));
  return *me;
}

namespace {

// An agreement as a party's transaction finds it: its record, its terms and the sender's
// index among the parties; the one load-and-authorise step of the lifecycle handlers.
struct AsParty {
  Work w;
  Terms terms;
  size_t me = 0;
};
Result<AsParty> load_as_party(const TxContext& ctx, uint64_t id) {
  auto w = load_record(ctx.state, id);
  if (!w) return w.status();
  auto terms = find_terms(ctx.state, id);
  if (!terms) return error(kAgreementNotFound, "no agreement " + std::to_string(id));
  auto me = party_of(*terms, ctx.tx.sender, id);
  if (!me) return me.status();
  return AsParty{std::move(w.value()), std::move(*terms), *me};
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

}  // namespace

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

Status sign(TxContext& ctx, const SignPayload& p) {
  auto loaded = load_as_party(ctx, p.agreement);
  if (!loaded) return loaded.status();
  auto& [w, terms, me] = loaded.value();
  if (w.st.status != Status8::kProposed)
    return error(kWrongStatus, "agreement is " + std::string(status_name(w.st.status)));
  if (w.st.signed_mask & (1u << me)) return error(kAlreadySigned, "you have signed already");
  if (p.terms_hash != w.st.terms_hash) return error(kTermsHashMismatch, "you signed other terms");
  w.st.signed_mask |= 1u << me;
  Log log(ctx.state, ctx.block.height);
  SignedEvent ev{p.agreement, me, false};
  if (w.st.signed_mask == (1u << terms.parties.size()) - 1) {
    // Every party signed: activate, if the asset is still the owner's and free.
    if (Status s = check_terms_against_state(ctx.state, terms); !s) return s;
    auto asset = find_asset(ctx.state, terms.asset);
    if (asset->agreement)
      return error(kAssetInUse, "asset serves agreement " + std::to_string(asset->agreement));
    if (Status s = bind_asset_meter(ctx.state, w.b, p.agreement); !s) return s;
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
  auto loaded = load_as_party(ctx, p.agreement);
  if (!loaded) return loaded.status();
  auto& [w, terms, me] = loaded.value();
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
  v += be32(1u << me);
  ctx.state.put(amend_key(p.agreement), std::move(v));
  ctx.events.push_back(make_event(AmendmentEvent{p.agreement, terms_hash(n)}));
  return ok();
}

Status sign_amendment(TxContext& ctx, const SignPayload& p) {
  auto loaded = load_as_party(ctx, p.agreement);
  if (!loaded) return loaded.status();
  auto& [w, terms, me] = loaded.value();
  if (w.st.status != Status8::kActive) return error(kWrongStatus, "agreement is not active");
  auto raw = ctx.state.get(amend_key(p.agreement));
  if (!raw || raw->size() < 4) return error(kNoAmendment, "no pending amendment");
  Bytes terms_bytes(raw->begin(), raw->end() - 4);
  uint32_t mask = codec::Reader(std::string_view(*raw).substr(raw->size() - 4)).u32();
  auto n = decode_terms(terms_bytes);
  if (!n) return n.status();
  if (terms_hash(*n) != p.terms_hash) return error(kTermsHashMismatch, "you signed other terms");
  if (mask & (1u << me)) return error(kAlreadySigned, "you have signed this amendment");
  mask |= 1u << me;
  Log log(ctx.state, ctx.block.height);
  AmendmentSignedEvent ev{p.agreement, me, false};
  if (mask == (1u << terms.parties.size()) - 1) {
    // Same asset and premises (amend checks it), so the same meters.
    w.b = billing_of(*n, w.b.asset_meter, w.b.premises_meter);
    // The meter's use follows the new term: longer (if no other use holds it) or shorter.
    if (Status s = bind_asset_meter(ctx.state, w.b, p.agreement); !s) return s;
    release_asset_meter(ctx.state, w.b, p.agreement,
                        w.b.start_ms + w.b.period_ms * static_cast<uint64_t>(w.b.periods) - 1);
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

namespace {

// The host pays every party's arrears (all or nothing); the missed payments become paid
// late. INSUFFICIENT_FUNDS unless the host's balance covers them and `also` more.
Status pay_arrears(TxContext& ctx, Work& w, const Terms& terms, Log& log, uint64_t also = 0) {
  uint64_t total = w.st.arrears_total();
  uint64_t balance = bank::balance(ctx.state, ctx.tx.sender);
  if (balance < sat_add(total, also))
    return error(Code::kInsufficientFunds,
                 "arrears are " + std::to_string(total) +
                     (also ? " (and " + std::to_string(also) + " more is due)" : std::string()) +
                     ", balance " + std::to_string(balance));
  for (size_t i = 0; i < w.st.arrears.size(); ++i)
    if (w.st.arrears[i])
      if (Status s =
              bank::transfer(ctx.state, ctx.tx.sender, terms.parties[i].account, w.st.arrears[i]);
          !s)
        return s;
  for (uint32_t k = w.st.first_unpaid_period; total && k < w.st.billed_periods; ++k) {
    auto pm = find_payment(ctx.state, w.id, k);
    if (pm && pm->status == PaymentStatus::kMissed) {
      pm->status = PaymentStatus::kPaidLate;
      put_payment(ctx.state, *pm);
      log.add(LogKind::kPayment, pm->agreement, pm->period);
    }
  }
  w.st.arrears.assign(w.st.arrears.size(), 0);
  w.st.penalty_applied = false;
  w.st.total_paid = sat_add(w.st.total_paid, total);
  return ok();
}

}  // namespace

Status terminate(TxContext& ctx, const IdPayload& p) {
  auto loaded = load_as_party(ctx, p.agreement);
  if (!loaded) return loaded.status();
  auto& [w, terms, me] = loaded.value();
  Log log(ctx.state, ctx.block.height);
  if (w.st.status == Status8::kProposed) {  // any party withdraws a proposal
    w.st.status = Status8::kTerminated;
    w.st.closed_ms = ctx.block.time_ms;
  } else if (w.st.status == Status8::kActive) {
    Role role = terms.parties[me].role;
    if (role != Role::kOwner && role != Role::kHost)
      return error(kNotAParty, "only the owner or the host ends an agreement early");
    Role other = role == Role::kOwner ? Role::kHost : Role::kOwner;
    // A host leaving early pays its arrears first: the fee alone does not buy them off.
    if (role == Role::kHost && w.st.arrears_total() > 0)
      if (Status s = pay_arrears(ctx, w, terms, log, terms.termination_fee_micro); !s) return s;
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
  ctx.events.push_back(make_event(TerminatedEvent{p.agreement, me}));
  return ok();
}

Status pay(TxContext& ctx, const IdPayload& p) {
  auto loaded = load_as_party(ctx, p.agreement);
  if (!loaded) return loaded.status();
  auto& [w, terms, me] = loaded.value();
  if (terms.parties[me].role != Role::kHost)
    return error(kNotAParty, "only the host owes payments");
  uint64_t total = w.st.arrears_total();
  if (total == 0) return error(kNoArrears, "nothing is owed");
  Log log(ctx.state, ctx.block.height);
  if (Status s = pay_arrears(ctx, w, terms, log); !s) return s;
  BillingTally tally;
  Effects fx;
  bool changed = process(ctx.state, w, ctx.block.time_ms, ctx.block.height, tally, fx);
  fx.apply(log, ctx.state);
  if (!changed) put_state(ctx.state, w, log);
  ctx.events.push_back(make_event(PaidEvent{p.agreement, total}));
  return ok();
}

Status execute(TxContext& ctx, const IdPayload& p) {
  auto loaded = load_as_party(ctx, p.agreement);
  if (!loaded) return loaded.status();
  Work& w = loaded.value().w;
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
  ctx.events.push_back(make_event(ExecutedEvent{tally, p.agreement}));
  return ok();
}

}  // namespace gridpact::agreements
