// The governance rows of the SQL read model: one row per proposal (table proposals) and
// one per current member's vote (table proposal_votes), built from chain state. The tables
// are declared with the others in read_model.cpp; which proposals a block changed comes
// from the governance module's log (governance::changed_in).
#pragma once

#include "db/sql.hpp"
#include "modules/governance/governance.hpp"

namespace gridpact::db {

// Columns: id, proposer, status, changes, created_height, deadline_height, activate_at
// (NULL: when passed), closed_height, executed_height, error_code, memo.
Row proposal_row(uint64_t id, const governance::ProposalRecord& p);
// Columns: proposal, member, choice.
std::vector<Row> vote_rows(const StateReader& s, uint64_t id);

}  // namespace gridpact::db
