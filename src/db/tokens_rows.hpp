// The green-token rows of the SQL read model (tables token_balances, token_mints and
// token_pool), built from chain state. Which balances and mints a block changed comes from
// the tokens module's logs (tokens::touched_in, tokens::minted_in); row contents from the
// latest state, like every table of the read model.
//
//   token_balances  account, balance                       every non-zero balance
//   token_mints     meter, period, account, source, microgrid, virtual, wh, rate, amount,
//                   agreement: one row per account a mint credited (the meter's owner,
//                   or each party of the agreement that shared it); indexed by account,
//                   by (microgrid, source) and by period
//   token_pool      id (always 1), pool_balance, funded, redeemed, reimbursed, drained,
//                   minted, burned
#pragma once

#include <functional>

#include "db/sql.hpp"
#include "db/table.hpp"
#include "ledger/state.hpp"

namespace gridpact::db {

extern const char* const kTokenSchema;
extern const Table kTokenBalances, kTokenMints, kTokenPool;

// Upserts what block `height` changed (inside the caller's SQL transaction).
Status apply_token_block(Sql& sql, const StateReader& s, uint64_t height);
// Every token row the chain's state implies, for verify().
void expected_token_rows(const StateReader& s, const std::function<void(const Table&, Row)>& add);

}  // namespace gridpact::db
