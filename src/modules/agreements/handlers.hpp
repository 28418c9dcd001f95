// The agreements module's message handlers, one per transaction type (declared in
// agreements.cpp's constructor), and the billing steps the lifecycle handlers share.
// Shared by the module's source files only.
#pragma once

#include "modules/agreements/change_log.hpp"
#include "modules/agreements/events.hpp"

namespace gridpact::agreements {

// listings.cpp
Status register_asset(TxContext& ctx, Asset a);
Status register_premises(TxContext& ctx, Premises p);
Status transfer_asset(TxContext& ctx, const TransferAssetPayload& p);

// lifecycle.cpp
Status propose(TxContext& ctx, const Terms& t);
Status sign(TxContext& ctx, const SignPayload& p);
Status amend(TxContext& ctx, const AmendPayload& p);
Status sign_amendment(TxContext& ctx, const SignPayload& p);
Status terminate(TxContext& ctx, const IdPayload& p);
Status pay(TxContext& ctx, const IdPayload& p);
Status execute(TxContext& ctx, const IdPayload& p);
// The index of `sender` among the parties of agreement `id`, or NOT_A_PARTY.
Result<size_t> party_of(const Terms& terms, const PublicKey& sender, uint64_t id);

// ratings.cpp
Status rate(TxContext& ctx, const RatePayload& p);
Status rate_trade(TxContext& ctx, const RateTradePayload& p);

// billing.cpp
// Sets the record's next due time (and indexes it) from its status, schedule and arrears.
void reschedule(Work& w, Effects& fx);
// Closes the agreement with `status` at `now`; the asset leaves it.
void close(StateOverlay& s, Work& w, Status8 status, uint64_t now, Effects& fx);
// Does everything due for one agreement at `now`, writes its record and logs what changed.
// Returns whether anything happened.
bool process(StateOverlay& s, Work& w, uint64_t now, uint64_t height, BillingTally& tally,
             Effects& fx);

}  // namespace gridpact::agreements
